// clock_ns, tsc_khz and steal_ns on the bare TSC.
#include "backends/native/native_time.h"

#include "arch/x86/arch.h"
#include "backends/native/native.h"
#include "core/tsc_clock.h"

namespace pvops::native {
namespace {

struct ClockState {
  core::TscScale scale;  // mult == 0: not calibrated yet
  TscSource source;
};
ClockState g_clock;
// clock_ns never goes back, even across CPUs whose TSCs differ by a few ticks.
core::MonotonicClamp g_monotonic;

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
  uint64_t khz;
  if ((khz = TscKhzFromCpuid15()) != 0) {
    c.source = TscSource::kCpuid15;
  } else if ((khz = TscKhzFromCpuid16()) != 0) {
    c.source = TscSource::kCpuid16;
  } else if ((khz = MeasureTscKhzWithPit()) != 0) {
    c.source = TscSource::kPit;
  } else {
    c.source = TscSource::kNone;
  }
  // Unknown frequency: TscScale counts ticks as nanoseconds, so the clock still moves forward.
  c.scale = core::TscScale::ForKhz(khz);
  g_clock = c;
  g_monotonic.Reset();
}

TscSource ClockSource() { return g_clock.source; }

void ForgetClockCalibration() {
  g_clock = ClockState{};
  g_monotonic.Reset();
}

uint64_t TscKhz() {
  if (g_clock.scale.mult == 0) CalibrateClock();
  return g_clock.scale.khz;
}

uint64_t ClockNs() {
  if (g_clock.scale.mult == 0) CalibrateClock();
  return g_monotonic.Clamp(g_clock.scale.ToNs(arch::rdtsc()));
}

uint64_t StealNs(uint32_t) { return 0; }  // nothing steals time from bare metal

}  // namespace pvops::native
