// The clock: TSC ticks (the ROM's RDTSC when it offers one) scaled by a known rate, never going
// back across CPUs. The rate is the hypervisor's when it told one, else the native measurement.
#include "backends/native/native_time.h"
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"

namespace pvops::vmi {
namespace {

// ns = ticks * mult >> 32, as the native clock does.
constexpr uint32_t kScaleShift = 32;
constexpr uint64_t kNsPerMsShifted = uint64_t{1'000'000} << kScaleShift;

struct Clock {
  uint64_t khz;
  uint64_t mult;
};
Clock g_clock;
uint64_t g_last_ns;  // the largest value handed out

uint64_t ReadTsc() { return Provides(VMI_CALL_RDTSC) ? CallRom(VMI_CALL_RDTSC) : arch::rdtsc(); }

}  // namespace

void SetUpClock(uint64_t tsc_khz) {
  g_clock.khz = tsc_khz;
  g_clock.mult = tsc_khz != 0 ? kNsPerMsShifted / tsc_khz : uint64_t{1} << kScaleShift;
  __atomic_store_n(&g_last_ns, 0, __ATOMIC_RELAXED);
}

uint64_t TscKhz() { return g_clock.khz; }

uint64_t ClockNs() {
  core::Count(core::Counter::kClockReads);
  const uint64_t ns = static_cast<uint64_t>(
      (static_cast<unsigned __int128>(ReadTsc()) * g_clock.mult) >> kScaleShift);
  uint64_t last = __atomic_load_n(&g_last_ns, __ATOMIC_RELAXED);
  while (ns > last) {
    if (__atomic_compare_exchange_n(&g_last_ns, &last, ns, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      return ns;
    }
  }
  return last;
}

}  // namespace pvops::vmi
