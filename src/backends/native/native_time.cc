// clock_ns, tsc_khz and steal_ns on the bare TSC.
#include "backends/native/native_time.h"

#include "arch/x86/arch.h"
#include "backends/native/native.h"

namespace pvops::native {
namespace {

// ns = tsc * mult >> kScaleShift; a 32.32 multiplier keeps sub-ppb precision for any sane rate.
constexpr uint32_t kScaleShift = 32;
constexpr uint64_t kNsPerMsShifted = uint64_t{1'000'000} << kScaleShift;

struct ClockState {
  uint64_t tsc_khz;
  uint64_t mult;
  TscSource source;
};
ClockState g_clock;
// The largest value handed out: clock_ns never goes back, even across CPUs whose TSCs differ
// by a few ticks.
uint64_t g_last_ns;

// PIT channel 2, gated through port 0x61 (its OUT pin reads back there): the one legacy timer
// whose output can be polled without interrupts.
constexpr uint16_t kPitChannel2 = 0x42;
constexpr uint16_t kPitCommand = 0x43;
constexpr uint16_t kPortB = 0x61;
constexpr uint8_t kPortBGate2 = 0x01;
constexpr uint8_t kPortBSpeaker = 0x02;
constexpr uint8_t kPortBOut2 = 0x20;
constexpr uint8_t kPitChannel2LoHiMode0 = 0xb0;  // channel 2, lobyte/hibyte, mode 0, binary
constexpr uint64_t kPitHz = 1'193'182;
constexpr uint64_t kPitCalibrationMs = 20;
constexpr uint64_t kPitLatch = kPitHz * kPitCalibrationMs / 1000;
static_assert(kPitLatch <= 0xffff);
// At ~1 us per port read, 20 ms is ~20000 polls; this bound is 100 times that.
constexpr uint32_t kMaxPitPolls = 2'000'000;

bool SaneKhz(uint64_t khz) { return khz >= kMinTscKhz && khz <= kMaxTscKhz; }

uint32_t MaxBasicLeaf() { return arch::cpuid(0, 0).eax; }

// CPUID 0x15: TSC = crystal Hz (ECX) * numerator (EBX) / denominator (EAX); any zero means
// "not enumerated".
uint64_t TscKhzFromCpuid15() {
  if (MaxBasicLeaf() < 0x15) return 0;
  const pvops_cpuid_regs r = arch::cpuid(0x15, 0);
  if (r.eax == 0 || r.ebx == 0 || r.ecx == 0) return 0;
  const uint64_t khz = uint64_t{r.ecx} * r.ebx / r.eax / 1000;
  return SaneKhz(khz) ? khz : 0;
}

// CPUID 0x16 EAX[15:0]: base frequency in MHz, which the TSC runs at on CPUs that report it.
uint64_t TscKhzFromCpuid16() {
  if (MaxBasicLeaf() < 0x16) return 0;
  const uint64_t khz = uint64_t{arch::cpuid(0x16, 0).eax & 0xffff} * 1000;
  return SaneKhz(khz) ? khz : 0;
}

}  // namespace

uint64_t MeasureTscKhzWithPit() {
  const uint8_t port_b = arch::inb(kPortB);
  arch::outb(kPortB, static_cast<uint8_t>((port_b & ~kPortBSpeaker) | kPortBGate2));
  arch::outb(kPitCommand, kPitChannel2LoHiMode0);
  arch::outb(kPitChannel2, kPitLatch & 0xff);
  arch::outb(kPitChannel2, kPitLatch >> 8);
  const uint64_t start = arch::rdtsc();
  uint32_t polls = 0;
  // Mode 0 drives OUT low at once and high at terminal count. High before the count ran (an
  // absent PIT reads 0xff) means there is nothing to measure against.
  while ((arch::inb(kPortB) & kPortBOut2) == 0) {
    if (++polls == kMaxPitPolls) break;
  }
  const uint64_t end = arch::rdtsc();
  arch::outb(kPortB, port_b);
  if (polls == 0 || polls == kMaxPitPolls) return 0;
  const uint64_t khz = (end - start) / kPitCalibrationMs;
  return SaneKhz(khz) ? khz : 0;
}

void CalibrateClock() {
  ClockState c{};
  if ((c.tsc_khz = TscKhzFromCpuid15()) != 0) {
    c.source = TscSource::kCpuid15;
  } else if ((c.tsc_khz = TscKhzFromCpuid16()) != 0) {
    c.source = TscSource::kCpuid16;
  } else if ((c.tsc_khz = MeasureTscKhzWithPit()) != 0) {
    c.source = TscSource::kPit;
  } else {
    c.source = TscSource::kNone;
  }
  // Unknown frequency: count ticks as nanoseconds, so the clock still moves forward.
  c.mult = c.tsc_khz != 0 ? kNsPerMsShifted / c.tsc_khz : uint64_t{1} << kScaleShift;
  g_clock = c;
  __atomic_store_n(&g_last_ns, 0, __ATOMIC_RELAXED);
}

TscSource ClockSource() { return g_clock.source; }

void ForgetClockCalibration() {
  g_clock = ClockState{};
  __atomic_store_n(&g_last_ns, 0, __ATOMIC_RELAXED);
}

uint64_t TscKhz() {
  if (g_clock.mult == 0) CalibrateClock();
  return g_clock.tsc_khz;
}

uint64_t ClockNs() {
  if (g_clock.mult == 0) CalibrateClock();
  const uint64_t ns =
      static_cast<uint64_t>((static_cast<unsigned __int128>(arch::rdtsc()) * g_clock.mult) >>
                            kScaleShift);
  uint64_t last = __atomic_load_n(&g_last_ns, __ATOMIC_RELAXED);
  while (ns > last) {
    if (__atomic_compare_exchange_n(&g_last_ns, &last, ns, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      return ns;
    }
  }
  return last;
}

uint64_t StealNs(uint32_t) { return 0; }  // nothing steals time from bare metal

}  // namespace pvops::native
