// SPDX-License-Identifier: MIT
// Entering Xen: the hypercall page (Xen writes one 32-byte stub per hypercall number into a page
// the guest names), or vmcall/vmmcall directly on HVM when the page was refused. Xen answers
// 0 or a positive value on success and -errno (xen/errno.h) on failure.

#include "backends/xen/xen.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/errno.h>
#include <xen/version.h>

// The page itself: int3 until Xen fills it, so a call through an unfilled page traps at once
// instead of sliding through zeros. Executable in the kernel; writable data in the host tests,
// where the test plays Xen and writes the stubs.
#if defined(PVOPS_SIM_CPU)
#define PVOPS_XEN_PAGE_SECTION ".data.pvops_xen_hypercall_page, \"aw\""
#else
#define PVOPS_XEN_PAGE_SECTION ".text.pvops_xen_hypercall_page, \"ax\""
#endif
asm(".pushsection " PVOPS_XEN_PAGE_SECTION ", @progbits\n"
    ".balign 4096\n"
    ".globl pvops_xen_hypercall_page\n"
    ".type pvops_xen_hypercall_page, @object\n"
    "pvops_xen_hypercall_page:\n"
    ".fill 4096, 1, 0xcc\n"
    ".size pvops_xen_hypercall_page, 4096\n"
    ".popsection\n");

namespace pvops::xen {

State g_state;

namespace {

// Xen's hypercall ABI: arguments in rdi, rsi, rdx, r10, r8; the result in rax.
arch::HypercallRegs XenArgs(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4) {
  arch::HypercallRegs r{};
  r.rdi = a0;
  r.rsi = a1;
  r.rdx = a2;
  r.r10 = a3;
  r.r8 = a4;
  return r;
}

int64_t ThroughPage(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4) {
  arch::HypercallRegs r = XenArgs(a0, a1, a2, a3, a4);
  arch::call_stub(pvops_xen_hypercall_page + nr * kStubBytes, r);
  return static_cast<int64_t>(r.rax);
}

int64_t Direct(arch::HypercallInsn insn, uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
               uint64_t a3, uint64_t a4) {
  arch::HypercallRegs r = XenArgs(a0, a1, a2, a3, a4);
  r.rax = nr;
  arch::hypercall(insn, r);
  return static_cast<int64_t>(r.rax);
}

enum class Way : uint8_t { kPage, kVmcall, kVmmcall };

// The raw op, one per way in (init picks it): a call pays for its own checks only.
template <Way kWay>
[[nodiscard]] pvops_status RawOn(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                                 uint64_t a4, int64_t* result) {
  // iret's stub never returns (it pops a frame): not a call anyone can make through this op.
  if (nr >= kStubCount || nr == __HYPERVISOR_iret) return PVOPS_ERR_INVALID;
  const uint32_t n = static_cast<uint32_t>(nr);
  int64_t ret;
  if constexpr (kWay == Way::kPage)
    ret = ThroughPage(n, a0, a1, a2, a3, a4);
  else if constexpr (kWay == Way::kVmcall)
    ret = Direct(arch::HypercallInsn::kVmcall, n, a0, a1, a2, a3, a4);
  else
    ret = Direct(arch::HypercallInsn::kVmmcall, n, a0, a1, a2, a3, a4);
  core::Count(core::Counter::kHypercalls);
  if (result != nullptr) *result = ret;
  return PVOPS_OK;
}

}  // namespace

int64_t Hypercall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4) {
  const int64_t ret = g_state.mode == Mode::kHvmDirect
                          ? Direct(g_state.insn, nr, a0, a1, a2, a3, a4)
                          : ThroughPage(nr, a0, a1, a2, a3, a4);
  core::Count(core::Counter::kHypercalls);
  return ret;
}

RawHypercallOp RawHypercallFor(Mode mode, arch::HypercallInsn insn) {
  if (mode != Mode::kHvmDirect) return RawOn<Way::kPage>;  // PV, or HVM with a filled page
  return insn == arch::HypercallInsn::kVmmcall ? RawOn<Way::kVmmcall> : RawOn<Way::kVmcall>;
}

[[nodiscard]] pvops_status StatusFromXen(int64_t result) {
  // Every call the library makes through here answers 0 on success: more is not Xen's answer.
  if (result > 0) return PVOPS_ERR_BAD_DATA;
  // Unsigned: a result of INT64_MIN has no signed negation. Past 4095 is no errno of Xen's.
  switch (0 - static_cast<uint64_t>(result)) {
    case 0: return PVOPS_OK;
    case XEN_ENOSYS:
    case XEN_EOPNOTSUPP: return PVOPS_ERR_UNSUPPORTED;
    case XEN_EPERM:
    case XEN_EACCES: return PVOPS_ERR_DENIED;
    case XEN_EINVAL:
    case XEN_ERANGE:
    case XEN_E2BIG:
    case XEN_ENOENT:
    case XEN_ESRCH: return PVOPS_ERR_INVALID;
    case XEN_EFAULT: return PVOPS_ERR_FAULT;
    case XEN_EAGAIN:
    case XEN_EBUSY:
    case XEN_EEXIST: return PVOPS_ERR_BUSY;
    case XEN_ENOMEM:
    case XEN_ENOSPC: return PVOPS_ERR_NO_RESOURCE;
    case XEN_ETIME:
    case XEN_ETIMEDOUT: return PVOPS_ERR_TIMEOUT;
    default: return PVOPS_ERR_HYPERVISOR;
  }
}

bool StubLooksFilled(uint32_t nr) {
  if (nr >= kStubCount) return false;
  const volatile unsigned char* stub = pvops_xen_hypercall_page + nr * kStubBytes;
  // PV stubs start with push %rcx; push %r11 (3 bytes), HVM stubs with the mov itself.
  for (uint32_t at = 0; at <= 3; ++at) {
    if (stub[at] != 0xb8) continue;  // mov $imm32, %eax
    const uint32_t imm = uint32_t{stub[at + 1]} | uint32_t{stub[at + 2]} << 8 |
                         uint32_t{stub[at + 3]} << 16 | uint32_t{stub[at + 4]} << 24;
    if (imm == nr) return true;
  }
  return false;
}

[[nodiscard]] PVOPS_BOOT_CODE pvops_status ReadVersion(Reason* why) {
  const int64_t version = Hypercall(__HYPERVISOR_xen_version, XENVER_version, 0);
  const uint32_t major = static_cast<uint32_t>(version) >> 16;
  // Every Xen with this ABI is 3.x or later; anything else is not Xen answering.
  if (version <= 0 || major < 3 || major > 255) {
    why->Add("xen_version answered ").AddHex(static_cast<uint64_t>(version));
    return PVOPS_ERR_BAD_DATA;
  }
  g_state.version = static_cast<uint32_t>(version);
  xen_feature_info features{};
  features.submap_idx = 0;
  const int64_t rc = Hypercall(__HYPERVISOR_xen_version, XENVER_get_features, Arg(&features));
  g_state.features = rc == 0 ? features.submap : 0;
  return PVOPS_OK;
}

}  // namespace pvops::xen

extern "C" PVOPS_BOOT_CODE void pvops_xen_console_write(const char* text, size_t len) {
  using namespace pvops::xen;
  if (text == nullptr || len == 0) return;
  // Before init the page is trusted only if Xen visibly filled it (PV: at domain build).
  if (g_state.mode != Mode::kHvmDirect && !StubLooksFilled(__HYPERVISOR_console_io)) return;
  Hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, len, Arg(text));
}
