// SPDX-License-Identifier: MIT
// Xen HVM/PVH before pvops_init: a PVH kernel's memory map and console while nothing of the
// library is set up. Xen takes vmcall/vmmcall from an HVM/PVH kernel without a hypercall page
// (Linux's own PVH code calls it that way), so these need no page, no state and no .bss: a
// kernel may call them before it clears its .bss.

#include "backends/xen/xen.h"
#include "hw/cpu_instructions.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/arch-x86/cpuid.h>
#include <xen/memory.h>

namespace pvops::xen {
namespace {

static_assert(sizeof(pvops_xen_e820_entry) == 20, "Xen's struct e820entry is packed, 20 bytes");

constexpr uint32_t kHypervisorBit = 1u << 31;  // CPUID.1:ECX
constexpr uint32_t kE820Ram = 1;
// x86-64's architectural limit on physical addresses.
constexpr uint64_t kPhysLimit = uint64_t{1} << 52;

// Xen's CPUID block, found as the core's probe finds it: the hypervisor bit, then the
// "XenVMMXenVMM" signature at 0x40000000 + n * 0x100 with the leaves up to base+2.
bool XenLeavesPresent() {
  if ((arch::cpuid(1, 0).ecx & kHypervisorBit) == 0) return false;
  for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
    const pvops_cpuid_regs r = arch::cpuid(base, 0);
    if (r.ebx == XEN_CPUID_SIGNATURE_EBX && r.ecx == XEN_CPUID_SIGNATURE_ECX &&
        r.edx == XEN_CPUID_SIGNATURE_EDX && r.eax >= base + 2 && r.eax - base < 0x100)
      return true;
  }
  return false;
}

int64_t EarlyHypercall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2 = 0) {
  arch::HypercallRegs r{};
  r.rax = nr;
  r.rdi = a0;
  r.rsi = a1;
  r.rdx = a2;
  arch::hypercall(hw::HypercallInsnForVendor(), r);
  return static_cast<int64_t>(r.rax);
}

bool EntryUsable(const pvops_xen_e820_entry& e) {
  if (e.size == 0 || e.type == 0) return false;
  if (e.addr > kPhysLimit || e.size > kPhysLimit - e.addr) return false;  // also catches wrap
  return true;
}

// Keeps the usable entries of map[0..n), in order; returns how many.
uint32_t CompactMemoryMap(pvops_xen_e820_entry* map, uint32_t n, uint32_t* ram) {
  uint32_t kept = 0;
  *ram = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const pvops_xen_e820_entry e = map[i];
    if (!EntryUsable(e)) continue;
    if (e.type == kE820Ram) ++*ram;
    map[kept++] = e;
  }
  return kept;
}

}  // namespace
}  // namespace pvops::xen

extern "C" pvops_status pvops_xen_hvm_memory_map(pvops_xen_e820_entry* map, uint32_t max,
                                                 uint32_t* count, char* why, size_t why_len) {
  using namespace pvops::xen;
  char scratch[1];
  Reason reason(why != nullptr && why_len > 0 ? why : scratch,
                why != nullptr && why_len > 0 ? why_len : sizeof(scratch));
  if (count != nullptr) *count = 0;
  if (map == nullptr || count == nullptr || max == 0) {
    reason.Add("no buffer for the memory map");
    return PVOPS_ERR_INVALID;
  }
  if (!XenLeavesPresent()) {
    reason.Add("no Xen CPUID leaves: not a Xen HVM/PVH guest");
    return PVOPS_ERR_UNSUPPORTED;
  }
  xen_memory_map memmap{};
  memmap.nr_entries = max;
  set_xen_guest_handle(memmap.buffer, static_cast<void*>(map));
  const int64_t rc = EarlyHypercall(__HYPERVISOR_memory_op, XENMEM_memory_map,
                                    reinterpret_cast<uintptr_t>(&memmap));
  if (rc != 0) {
    reason.Add("XENMEM_memory_map failed (")
        .AddDec(rc < 0 ? 0 - static_cast<uint64_t>(rc) : static_cast<uint64_t>(rc))
        .Add(")");
    return rc < 0 ? StatusFromXen(rc) : PVOPS_ERR_HYPERVISOR;
  }
  // Xen writes at most what it was offered; a larger count is not Xen answering.
  if (memmap.nr_entries == 0 || memmap.nr_entries > max) {
    reason.Add("XENMEM_memory_map returned ")
        .AddDec(memmap.nr_entries)
        .Add(" entries for a buffer of ")
        .AddDec(max);
    return PVOPS_ERR_BAD_DATA;
  }
  uint32_t ram = 0;
  const uint32_t kept = CompactMemoryMap(map, memmap.nr_entries, &ram);
  if (kept != memmap.nr_entries)
    reason.Add("dropped ")
        .AddDec(memmap.nr_entries - kept)
        .Add(" of ")
        .AddDec(memmap.nr_entries)
        .Add(" entries (empty, wrapping, beyond 2^52 or type 0)");
  if (ram == 0) {
    reason.Separate().Add("no RAM range in Xen's memory map");
    return PVOPS_ERR_BAD_DATA;
  }
  *count = kept;
  return PVOPS_OK;
}

extern "C" void pvops_xen_hvm_early_console_write(const char* text, size_t len) {
  using namespace pvops::xen;
  if (text == nullptr || len == 0 || !XenLeavesPresent()) return;
  (void)EarlyHypercall(__HYPERVISOR_console_io, CONSOLEIO_write, len,
                       reinterpret_cast<uintptr_t>(text));
}
