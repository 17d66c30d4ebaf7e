// SPDX-License-Identifier: MIT
#include "backends/hyperv/hv_clock.h"

#include "arch/x86/arch.h"
#include "arch/x86/registers.h"
#include "backends/hyperv/hyperv.h"
#include "core/runtime.h"
#include "core/tsc_clock.h"
#include "hw/tsc.h"

namespace pvops::hyperv {
namespace {

// The page is the hypervisor's to write: a whole page of ours, page aligned.
struct alignas(X86_PAGE_SIZE) TscPageStorage {
  ReferenceTscPage header;
  uint8_t rest[X86_PAGE_SIZE - sizeof(ReferenceTscPage)];
};
TscPageStorage g_tsc_page;

uint64_t g_tsc_khz;
core::TscScale g_stated_scale;  // without the page: the TSC at the stated frequency
core::MonotonicClamp g_monotonic;

// At boot the page must agree with the counter MSR read around it (TCG makes each read slow,
// so the window is generous: 10 ms in 100 ns units).
constexpr uint64_t kPageAgreementSlack = 100'000;

// (high << 64) / divisor for high < divisor, by restoring division: no 128-bit divide helper
// exists in a freestanding link.
uint64_t DivideShifted64(uint64_t high, uint64_t divisor) {
  uint64_t remainder = high;
  uint64_t quotient = 0;
  for (int bit = 0; bit < 64; ++bit) {
    const bool carry = (remainder >> 63) != 0;
    remainder <<= 1;
    quotient <<= 1;
    if (carry || remainder >= divisor) {
      remainder -= divisor;
      quotient |= 1;
    }
  }
  return quotient;
}

// time = tsc * scale / 2^64 in 100 ns units, so the TSC runs at 10^7 * 2^64 / scale Hz.
uint64_t KhzFromScale(uint64_t scale) {
  constexpr uint64_t k100nsPerMs = 10'000;
  return scale > k100nsPerMs ? DivideShifted64(k100nsPerMs, scale) : 0;
}

// The TSC frequency the hypervisor states, when granted and sane (kPathFrequencyMsrs).
bool ReadStatedTscKhz(core::Reason* why) {
  uint64_t hz = 0;
  if ((g_state.privileges & kPrivFrequencyMsrs) == 0 || !arch::rdmsr_safe(kMsrTscFrequency, &hz))
    return false;
  if (!core::SaneTscKhz(hz / 1000)) {
    why->Separate().Add("HV_X64_MSR_TSC_FREQUENCY says ").AddDec(hz).Add(" Hz");
    return false;
  }
  g_tsc_khz = hz / 1000;
  Enable(kPathFrequencyMsrs);
  return true;
}

// The reference TSC page with TIME_REF_COUNT as its fallback (kPathTscPageClock,
// kPathRefCounterClock), or an error with the reason.
[[nodiscard]] pvops_status EnableTscPage(core::Reason* why) {
  // The MSR is the fallback of every page read, so the page alone is not enough.
  uint64_t before;
  if ((g_state.privileges & kPrivTimeRefCount) == 0) {
    why->Separate().Add("no TIME_REF_COUNT privilege");
    return PVOPS_ERR_UNSUPPORTED;
  }
  if (!arch::rdmsr_safe(kMsrTimeRefCount, &before)) {
    why->Separate().Add("HV_X64_MSR_TIME_REF_COUNT faults");
    return PVOPS_ERR_FAULT;
  }
  if ((g_state.privileges & kPrivReferenceTsc) == 0) {
    why->Separate().Add("no reference TSC page privilege");
    return PVOPS_ERR_UNSUPPORTED;
  }
  const uint64_t gpa = core::VirtToPhys(&g_tsc_page);
  if (gpa % X86_PAGE_SIZE != 0) {
    why->Separate().Add("TSC page at unaligned GPA");
    return PVOPS_ERR_BAD_DATA;
  }
  if (!arch::wrmsr_safe(kMsrReferenceTsc, gpa | kMsrPageEnable)) {
    why->Separate().Add("HV_X64_MSR_REFERENCE_TSC faults");
    return PVOPS_ERR_FAULT;
  }
  uint64_t from_page = 0;
  TscPageSource page(TscPage());
  const bool valid = ReadReferenceTsc(page, &from_page);
  uint64_t after;
  if (!arch::rdmsr_safe(kMsrTimeRefCount, &after)) {
    (void)arch::wrmsr_safe(kMsrReferenceTsc, 0);
    why->Separate().Add("HV_X64_MSR_TIME_REF_COUNT faults");
    return PVOPS_ERR_FAULT;
  }
  if (!valid) {
    // Registered all the same: the hypervisor may fill it later, and every read checks.
    why->Separate()
        .Add("TSC page not valid yet (sequence ")
        .AddDec(TscPage()->sequence)
        .Add("), MSR until it is");
  } else if (from_page + kPageAgreementSlack < before || from_page > after + kPageAgreementSlack) {
    (void)arch::wrmsr_safe(kMsrReferenceTsc, 0);
    why->Separate()
        .Add("TSC page time ")
        .AddDec(from_page)
        .Add(" outside TIME_REF_COUNT [")
        .AddDec(before)
        .Add(", ")
        .AddDec(after)
        .Add("]");
    return PVOPS_ERR_BAD_DATA;
  }
  Enable(kPathRefCounterClock | kPathTscPageClock);
  return PVOPS_OK;
}

}  // namespace

volatile ReferenceTscPage* TscPage() { return &g_tsc_page.header; }

void ForgetClock() {
  g_tsc_khz = 0;
  g_stated_scale = core::TscScale{};
  g_monotonic.Reset();
}

uint64_t ReferenceTime() {
  uint64_t time;
  TscPageSource page(TscPage());
  if (Enabled(kPathTscPageClock) && ReadReferenceTsc(page, &time)) {
    kCounters.Count(Counter::kTscPageReads);
    return time;
  }
  kCounters.Count(Counter::kRefCounterMsrReads);
  CpuPart& here = ThisPart();
  const uint64_t tsc = arch::rdtsc();
  if (arch::rdmsr_safe(kMsrTimeRefCount, &time)) {
    here.last_reference = time;
    here.last_reference_tsc = tsc;
    return time;
  }
  // Probed at init and refused now: this CPU's last reading, carried on by the TSC, keeps the
  // kernel's time going (and its waits ending) where the counter would have faulted it.
  kCounters.Count(Counter::kRefCounterMsrFaults);
  const uint64_t khz = TscKhz();
  if (khz == 0) return here.last_reference;
  return here.last_reference +
         core::TscScale::ForKhz(khz).ToNs(tsc - here.last_reference_tsc) / kReferenceTimeUnitNs;
}

uint64_t ClockNs() {
  core::Count(core::Counter::kClockReads);
  return g_monotonic.Clamp(ReferenceTime() * kReferenceTimeUnitNs);
}

uint64_t TscKhz() { return g_tsc_khz != 0 ? g_tsc_khz : hw::TscKhz(); }

uint64_t StatedTscClockNs() {
  core::Count(core::Counter::kClockReads);
  return g_monotonic.Clamp(g_stated_scale.ToNs(arch::rdtsc()));
}

[[nodiscard]] pvops_status UserClock(pvops_user_clock* out) {
  if (!Enabled(kPathTscPageClock)) return PVOPS_ERR_UNSUPPORTED;
  volatile ReferenceTscPage* page = TscPage();
  out->kind = PVOPS_USER_CLOCK_HV_TSC_PAGE;
  // Sequence 0 sends readers to TIME_REF_COUNT, an MSR user space cannot read.
  out->stable = page->sequence != kTscPageInvalidSequence ? 1 : 0;
  out->page = const_cast<const ReferenceTscPage*>(page);
  out->page_phys = core::VirtToPhys(&g_tsc_page);
  return PVOPS_OK;
}

PVOPS_BOOT_CODE HvClock EnableClock(core::Reason* why) {
  ForgetClock();
  const bool stated = ReadStatedTscKhz(why);
  if (EnableTscPage(why) == PVOPS_OK) {
    if (!stated) {
      const uint64_t khz = KhzFromScale(TscPage()->scale);
      g_tsc_khz = core::SaneTscKhz(khz) ? khz : 0;  // 0: native calibration
    }
    return HvClock::kTscPage;
  }
  // TIME_REF_COUNT alone is no clock to read often: every read exits (on KVM nested under TCG,
  // 200000 reads took 27 s). Like Linux, which calibrates its TSC from the same MSR and never
  // makes the counter MSR its sched_clock: the TSC at the stated frequency, or native.
  if (stated) {
    g_stated_scale = core::TscScale::ForKhz(g_tsc_khz);
    Enable(kPathStatedTscClock);
    why->Add(": clock from the TSC at HV_X64_MSR_TSC_FREQUENCY");
    return HvClock::kStatedTsc;
  }
  why->Add(": native clock");
  return HvClock::kNative;
}

}  // namespace pvops::hyperv
