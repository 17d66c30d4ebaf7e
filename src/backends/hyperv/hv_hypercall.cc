// SPDX-License-Identifier: MIT
#include "backends/hyperv/hv_hypercall.h"

#include "arch/x86/arch.h"
#include "arch/x86/registers.h"
#include "backends/hyperv/hv_status.h"
#include "backends/hyperv/hyperv.h"
#include "core/runtime.h"
#include "hw/cpu_instructions.h"

#if defined(PVOPS_SIM_CPU)
namespace {
// Host tests: plain memory the simulated hypervisor fills; nothing ever executes it.
alignas(4096) uint8_t pvops_hv_hypercall_page[4096];
}  // namespace
#else
// The hypercall page must be executable memory of the kernel's: a page of zeros in the text
// section. The hypervisor writes it through guest-physical memory, so the kernel may keep its
// text read-only. Zeros, because "still all zero" is how we see that nothing was written.
asm(R"(
  .pushsection .text.pvops_hv_hypercall_page, "ax", @progbits
  .balign 4096
  .globl pvops_hv_hypercall_page
  .hidden pvops_hv_hypercall_page
  .type pvops_hv_hypercall_page, @function
pvops_hv_hypercall_page:
  .fill 4096, 1, 0
  .size pvops_hv_hypercall_page, 4096
  .popsection
)");
extern "C" __attribute__((visibility("hidden"))) const uint8_t pvops_hv_hypercall_page[4096];
#endif

namespace pvops::hyperv {
namespace {

static_assert(sizeof(ArgPage) == X86_PAGE_SIZE);

bool g_page_ready;

constexpr uint64_t kRepFieldsMask =
    kControlRepMax << kControlRepCountShift | kControlRepMax << kControlRepStartShift;

bool PageAllZero() {
  const volatile uint8_t* page = HypercallPage();
  for (uint64_t i = 0; i < X86_PAGE_SIZE; ++i)
    if (page[i] != 0) return false;
  return true;
}

// An 8-byte aligned block of `bytes` that stays inside one page.
bool UsableGpa(uint64_t gpa, uint64_t bytes) {
  return gpa % 8 == 0 && gpa % X86_PAGE_SIZE + bytes <= X86_PAGE_SIZE;
}

CallOutcome Outcome(uint64_t result) {
  CallOutcome o{};
  o.result = result;
  o.hv_status = ResultStatus(result);
  o.reps_completed = ResultReps(result);
  o.status = ToPvopsStatus(o.hv_status);
  return o;
}

// Out of line: one copy serves the three callers, and a call costs nothing beside a hypercall.
[[gnu::noinline]] CallOutcome RepFrom(uint64_t control, uint32_t rep_count, uint32_t start,
                                      uint64_t input_gpa, uint64_t output_gpa) {
  CallOutcome o{};
  if (rep_count == 0 || rep_count > kControlRepMax || start >= rep_count) {
    o.status = PVOPS_ERR_INVALID;
    return o;
  }
  uint32_t done = start;
  for (;;) {
    const uint64_t c = (control & ~kRepFieldsMask) | MakeControl(0, false, 0, rep_count, done);
    o = Outcome(CallPage(c, input_gpa, output_gpa));
    if (o.reps_completed > rep_count || o.reps_completed < done) {
      o.status = PVOPS_ERR_BAD_DATA;  // reps completed must lie in [start, count]
      return o;
    }
    if (o.hv_status != kHvStatusSuccess || o.reps_completed == rep_count) return o;
    // The TLFS promises at least one element per call: a success without progress would loop.
    if (o.reps_completed == done) {
      o.status = PVOPS_ERR_BAD_DATA;
      return o;
    }
    done = o.reps_completed;
  }
}

}  // namespace

const volatile uint8_t* HypercallPage() { return pvops_hv_hypercall_page; }
bool HypercallPageReady() { return __atomic_load_n(&g_page_ready, __ATOMIC_ACQUIRE); }
void ForgetHypercallPage() { __atomic_store_n(&g_page_ready, false, __ATOMIC_RELEASE); }

[[nodiscard]] PVOPS_BOOT_CODE pvops_status EnableHypercallPage(core::Reason* why) {
  ForgetHypercallPage();
  const uint64_t gpa = core::VirtToPhys(const_cast<const uint8_t*>(HypercallPage()));
  if (gpa % X86_PAGE_SIZE != 0) {
    why->Separate().Add("hypercall page at unaligned GPA ").AddHex(gpa);
    return PVOPS_ERR_INVALID;
  }
  uint64_t msr;
  if (!arch::rdmsr_safe(kMsrHypercall, &msr)) {
    why->Separate().Add("HV_X64_MSR_HYPERCALL faults");
    return PVOPS_ERR_FAULT;
  }
  if ((msr & kMsrHypercallLocked) != 0 && (msr & kMsrPageAddressMask) != gpa) {
    why->Separate().Add("HV_X64_MSR_HYPERCALL locked at ").AddHex(msr & kMsrPageAddressMask);
    return PVOPS_ERR_DENIED;
  }
  if (!arch::wrmsr_safe(kMsrHypercall, gpa | kMsrPageEnable) ||
      !arch::rdmsr_safe(kMsrHypercall, &msr)) {
    why->Separate().Add("enabling HV_X64_MSR_HYPERCALL faults");
    return PVOPS_ERR_FAULT;
  }
  if ((msr & kMsrPageEnable) == 0 || (msr & kMsrPageAddressMask) != gpa) {
    why->Separate().Add("HV_X64_MSR_HYPERCALL reads ").AddHex(msr).Add(" after enabling");
    return PVOPS_ERR_BAD_DATA;
  }
  if (PageAllZero()) {
    (void)arch::wrmsr_safe(kMsrHypercall, 0);
    why->Separate().Add("hypercall page stayed all zero");
    return PVOPS_ERR_BAD_DATA;
  }
  // Filled is not yet working: code 0 is reserved, so a working page answers "invalid code".
  const uint16_t probe = ResultStatus(CallPage(MakeControl(kCallReserved), 0, 0));
  if (probe != kHvStatusInvalidHypercallCode) {
    (void)arch::wrmsr_safe(kMsrHypercall, 0);
    why->Separate().Add("probe call answered ").Add(StatusName(probe));
    return PVOPS_ERR_BAD_DATA;
  }
  __atomic_store_n(&g_page_ready, true, __ATOMIC_RELEASE);
  return PVOPS_OK;
}

uint64_t CallPage(uint64_t control, uint64_t input, uint64_t output) {
  arch::HypercallRegs regs{};
  regs.rcx = control;
  regs.rdx = input;
  regs.r8 = output;
  arch::call_stub(const_cast<const uint8_t*>(HypercallPage()), regs);
  core::Count(core::Counter::kHypercalls);
  return regs.rax;
}

CallOutcome FastCall(uint16_t code, uint64_t input0, uint64_t input1) {
  return Outcome(CallPage(MakeControl(code, true), input0, input1));
}

ArgPages::ArgPages() : flags_(hw::SaveFlags()) {
  hw::IrqDisable();
  ArgPage& page = ThisPages().args;
  input_ = page.input;
  output_ = page.output;
  input_gpa_ = core::VirtToPhys(input_);
  output_gpa_ = core::VirtToPhys(output_);
}

ArgPages::~ArgPages() { hw::RestoreFlags(flags_); }

[[nodiscard]] pvops_status CheckArgPages(uint32_t cpu) {
  const CpuPages* pages = Pages(cpu);
  if (pages == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  const ArgPage& page = pages->args;
  const uint64_t half = X86_PAGE_SIZE / 2;
  return UsableGpa(core::VirtToPhys(page.input), half) &&
                 UsableGpa(core::VirtToPhys(page.output), half)
             ? PVOPS_OK
             : PVOPS_ERR_BAD_DATA;
}

CallOutcome SlowCall(const ArgPages& args, uint16_t code, uint32_t var_header_qwords) {
  return Outcome(
      CallPage(MakeControl(code, false, var_header_qwords), args.input_gpa(), args.output_gpa()));
}

CallOutcome RepCall(uint64_t control, uint32_t rep_count, uint64_t input_gpa, uint64_t output_gpa) {
  return RepFrom(control, rep_count, 0, input_gpa, output_gpa);
}

CallOutcome RepCall(const ArgPages& args, uint16_t code, uint32_t rep_count,
                    uint32_t var_header_qwords) {
  return RepFrom(MakeControl(code, false, var_header_qwords), rep_count, 0, args.input_gpa(),
                 args.output_gpa());
}

[[nodiscard]] pvops_status RawHypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                        uint64_t a3, uint64_t a4, int64_t* result) {
  if (result != nullptr) *result = 0;
  if (!HypercallPageReady()) return PVOPS_ERR_UNSUPPORTED;
  if ((a2 | a3 | a4) != 0) return PVOPS_ERR_INVALID;  // the ABI has a control word and two
  const uint32_t reps = ControlRepCount(nr);
  const uint32_t start = static_cast<uint32_t>((nr >> kControlRepStartShift) & kControlRepMax);
  const CallOutcome o =
      reps != 0 ? RepFrom(nr, reps, start, a0, a1) : Outcome(CallPage(nr, a0, a1));
  if (result != nullptr) *result = static_cast<int64_t>(o.result);
  return o.status;
}

}  // namespace pvops::hyperv
