#include "backends/hyperv/hv_clock.h"

#include "arch/x86/arch.h"
#include "backends/hyperv/hyperv.h"
#include "backends/native/native.h"
#include "backends/native/native_time.h"
#include "core/runtime.h"

namespace pvops::hyperv {
namespace {

// The page is the hypervisor's to write: a whole page of ours, page aligned.
struct alignas(kPageSize) TscPageStorage {
  ReferenceTscPage header;
  uint8_t rest[kPageSize - sizeof(ReferenceTscPage)];
};
TscPageStorage g_tsc_page;

uint64_t g_tsc_khz;
uint64_t g_last_ns;

// At boot the page must agree with the counter MSR read around it (TCG makes each read slow,
// so the window is generous: 10 ms in 100 ns units).
constexpr uint64_t kPageAgreementSlack = 100'000;

uint64_t ClampMonotonic(uint64_t ns) {
  uint64_t last = __atomic_load_n(&g_last_ns, __ATOMIC_RELAXED);
  do {
    if (ns <= last) return last;
  } while (!__atomic_compare_exchange_n(&g_last_ns, &last, ns, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  return ns;
}

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

bool SaneKhz(uint64_t khz) { return khz >= native::kMinTscKhz && khz <= native::kMaxTscKhz; }

// time = tsc * scale / 2^64 in 100 ns units, so the TSC runs at 10^7 * 2^64 / scale Hz.
uint64_t KhzFromScale(uint64_t scale) {
  constexpr uint64_t k100nsPerMs = 10'000;
  return scale > k100nsPerMs ? DivideShifted64(k100nsPerMs, scale) : 0;
}

void FindTscKhz(core::Reason* why) {
  uint64_t hz = 0;
  if ((g_state.privileges & kPrivFrequencyMsrs) != 0 && arch::rdmsr_safe(kMsrTscFrequency, &hz)) {
    if (SaneKhz(hz / 1000)) {
      g_tsc_khz = hz / 1000;
      Enable(kPathFrequencyMsrs);
      return;
    }
    why->Separate().Add("HV_X64_MSR_TSC_FREQUENCY says ").AddDec(hz).Add(" Hz");
  }
  if (Enabled(kPathTscPageClock)) {
    const uint64_t khz = KhzFromScale(TscPage()->scale);
    if (SaneKhz(khz)) {
      g_tsc_khz = khz;
      return;
    }
  }
  g_tsc_khz = 0;  // native calibration
}

}  // namespace

volatile ReferenceTscPage* TscPage() { return &g_tsc_page.header; }

void ForgetClock() {
  g_tsc_khz = 0;
  __atomic_store_n(&g_last_ns, 0, __ATOMIC_RELAXED);
}

uint64_t ReferenceTime() {
  uint64_t time;
  TscPageSource page(TscPage());
  if (Enabled(kPathTscPageClock) && ReadReferenceTsc(page, &time)) {
    core::Count(core::Counter::kTscPageReads);
    return time;
  }
  core::Count(core::Counter::kRefCounterMsrReads);
  return arch::rdmsr(kMsrTimeRefCount);
}

uint64_t ClockNs() {
  core::Count(core::Counter::kClockReads);
  return ClampMonotonic(ReferenceTime() * kReferenceTimeUnitNs);
}

uint64_t TscKhz() { return g_tsc_khz != 0 ? g_tsc_khz : native::TscKhz(); }

pvops_status EnableReferenceClock(core::Reason* why) {
  ForgetClock();
  // The MSR is the fallback of every read, so the page alone is not enough.
  uint64_t before;
  if ((g_state.privileges & kPrivTimeRefCount) == 0) {
    why->Separate().Add("no TIME_REF_COUNT privilege: native clock");
    return PVOPS_ERR_UNSUPPORTED;
  }
  if (!arch::rdmsr_safe(kMsrTimeRefCount, &before)) {
    why->Separate().Add("HV_X64_MSR_TIME_REF_COUNT faults: native clock");
    return PVOPS_ERR_FAULT;
  }
  Enable(kPathRefCounterClock);

  if ((g_state.privileges & kPrivReferenceTsc) != 0) {
    const uint64_t gpa = core::VirtToPhys(&g_tsc_page);
    if (gpa % kPageSize != 0) {
      why->Separate().Add("TSC page at unaligned GPA");
    } else if (!arch::wrmsr_safe(kMsrReferenceTsc, gpa | kMsrPageEnable)) {
      why->Separate().Add("HV_X64_MSR_REFERENCE_TSC faults");
    } else {
      uint64_t from_page = 0;
      TscPageSource page(TscPage());
      const bool valid = ReadReferenceTsc(page, &from_page);
      const uint64_t after = arch::rdmsr(kMsrTimeRefCount);
      if (!valid) {
        // Registered all the same: the hypervisor may fill it later, and every read checks.
        Enable(kPathTscPageClock);
        why->Separate().Add("TSC page not valid yet (sequence ").AddDec(TscPage()->sequence)
            .Add("), MSR until it is");
      } else if (from_page + kPageAgreementSlack < before ||
                 from_page > after + kPageAgreementSlack) {
        (void)arch::wrmsr_safe(kMsrReferenceTsc, 0);
        why->Separate().Add("TSC page time ").AddDec(from_page).Add(" outside TIME_REF_COUNT [")
            .AddDec(before).Add(", ").AddDec(after).Add("]");
      } else {
        Enable(kPathTscPageClock);
      }
    }
  }
  FindTscKhz(why);
  return PVOPS_OK;
}

}  // namespace pvops::hyperv
