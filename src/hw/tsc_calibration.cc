// SPDX-License-Identifier: MIT
#include "hw/tsc_calibration.h"

#include "arch/x86/arch.h"
#include "core/tsc_clock.h"
#include "hw/tsc.h"

namespace pvops::hw {
namespace {

constexpr uint64_t kPitHz = 1'193'182;
constexpr uint16_t kPitChannel2 = 0x42;
constexpr uint16_t kPitCommand = 0x43;
constexpr uint16_t kPortB = 0x61;
constexpr uint8_t kPortBGate2 = 0x01;
constexpr uint8_t kPortBSpeaker = 0x02;
// Channel 2, low then high byte, mode 2 (rate generator), binary; a reload of 0 means 65536.
constexpr uint8_t kPitChannel2LoHiMode2 = 0xb4;
constexpr uint8_t kPitLatchChannel2 = 0x80;
constexpr uint32_t kPitMask = 0xffff;

// Readings per end of the window; the narrowest bracket wins.
constexpr int kReadingsPerEnd = 8;
// The window is judged at 10 ms, 20 ms, 40 ms, ... up to 640 ms of counter time, and only
// from the second check on: the check before it (about half the window) must agree, which is
// what exposes a counter that wrapped unseen or returns garbage.
constexpr uint64_t kFirstCheckUs = 10'000;
constexpr uint64_t kLastCheckUs = 640'000;
// A present counter changes within a few reads (the PIT ticks every 0.84 us, the PM timer
// every 0.28 us); one that does not is absent (an empty bus reads all ones).
constexpr uint32_t kPresenceReads = 10'000;
// Reads of one window at most: a hang guard, far above what 640 ms takes at any read cost.
constexpr uint64_t kMaxReads = 20'000'000;
constexpr uint64_t kMillion = 1'000'000;

struct Counter {
  uint32_t (*read)(uint16_t port);
  uint16_t port;
  uint32_t mask;
  bool counts_down;
  uint64_t hz;
};

uint32_t ReadPort32(uint16_t port) { return arch::inl(port); }

uint32_t ReadPitChannel2(uint16_t) {
  arch::outb(kPitCommand, kPitLatchChannel2);
  const uint32_t low = arch::inb(kPitChannel2);
  const uint32_t high = arch::inb(kPitChannel2);
  return low | high << 8;
}

// The reference latched its `ticks` somewhere in [tsc_before, tsc_after].
struct Reading {
  uint64_t tsc_before, tsc_after, ticks;
  uint64_t width() const { return tsc_after - tsc_before; }
  uint64_t middle() const { return tsc_before + width() / 2; }
};

// Turns the wrapping counter into a running tick count; reads must come less than one wrap
// apart (the PIT's is 55 ms), which the caller's tight loop gives and the agreement check
// verifies.
class Unwrapper {
 public:
  explicit Unwrapper(const Counter& c) : c_(c), last_(c.read(c.port) & c.mask) {}
  Reading Read() {
    Reading r;
    r.tsc_before = arch::rdtsc();
    const uint32_t raw = c_.read(c_.port) & c_.mask;
    r.tsc_after = arch::rdtsc();
    ticks_ += (c_.counts_down ? last_ - raw : raw - last_) & c_.mask;
    last_ = raw;
    r.ticks = ticks_;
    ++reads_;
    return r;
  }
  Reading Narrowest() {
    Reading best = Read();
    for (int i = 1; i < kReadingsPerEnd; ++i)
      if (const Reading r = Read(); r.width() < best.width()) best = r;
    return best;
  }
  uint64_t reads() const { return reads_; }

 private:
  const Counter& c_;
  uint32_t last_;
  uint64_t ticks_ = 0;
  uint64_t reads_ = 0;
};

bool CounterMoves(const Counter& c) {
  const uint32_t first = c.read(c.port) & c.mask;
  for (uint32_t i = 0; i < kPresenceReads; ++i)
    if ((c.read(c.port) & c.mask) != first) return true;
  return false;
}

struct Estimate {
  uint64_t khz;
  uint64_t bound_ppm;
};

// TSC kHz between two readings, and its worst-case error: half of each bracket (the latch
// may sit anywhere inside) plus one counter tick, relative to the window.
Estimate Between(const Reading& a, const Reading& b, uint64_t hz) {
  const uint64_t tsc = b.middle() - a.middle();
  const uint64_t ticks = b.ticks - a.ticks;
  if (tsc == 0 || ticks == 0) return {0, ~uint64_t{0}};
  // tsc * hz / ticks, split so that no product overflows (the remainder term is below
  // ticks * hz), to the hertz; then to kHz.
  const uint64_t khz = (tsc / ticks * hz + tsc % ticks * hz / ticks) / 1000;
  const uint64_t slack = (a.width() + b.width()) / 2;
  const uint64_t bound = slack * kMillion / tsc + (kMillion + ticks - 1) / ticks;
  return {khz, bound};
}

uint64_t Difference(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

TscMeasurement MeasureOneWindow(const Counter& c) {
  Unwrapper counter(c);
  const Reading start = counter.Narrowest();
  Reading previous_check{};
  bool have_previous = false;
  for (uint64_t check_us = kFirstCheckUs;; check_us *= 2) {
    const uint64_t check_ticks = check_us * c.hz / kMillion;
    Reading now = counter.Read();
    while (now.ticks - start.ticks < check_ticks) {
      if (counter.reads() > kMaxReads) return {};
      now = counter.Read();
    }
    const Reading end = counter.Narrowest();
    const Estimate whole = Between(start, end, c.hz);
    if (!core::SaneTscKhz(whole.khz)) return {};
    const bool last = check_us * 2 > kLastCheckUs;
    if (have_previous && (whole.bound_ppm <= kCalibrationTargetPpm || last)) {
      const Estimate half = Between(start, previous_check, c.hz);
      // Two rigorous intervals that do not overlap: the counter is not counting real time.
      const uint64_t tolerance = (half.bound_ppm + whole.bound_ppm) * whole.khz / kMillion + 1;
      if (half.khz == 0 || Difference(half.khz, whole.khz) > tolerance) return {};
      const uint64_t window_us = (end.ticks - start.ticks) * kMillion / c.hz;
      return {whole.khz, static_cast<uint32_t>(whole.bound_ppm), static_cast<uint32_t>(window_us),
              1};
    }
    previous_check = end;
    have_previous = true;
  }
}

TscMeasurement Measure(const Counter& c) {
  if (!CounterMoves(c)) return {};
  for (uint32_t attempt = 1; attempt <= kCalibrationAttempts; ++attempt) {
    TscMeasurement m = MeasureOneWindow(c);
    if (m.khz != 0) {
      m.attempts = attempt;
      return m;
    }
  }
  return {0, 0, 0, kCalibrationAttempts};
}

}  // namespace

TscMeasurement MeasureTscAgainstPmTimer(const PmTimerPort& timer) {
  const Counter c{ReadPort32, timer.port, timer.mask, false, kPmTimerHz};
  return Measure(c);
}

TscMeasurement MeasureTscAgainstPit() {
  const uint8_t port_b = arch::inb(kPortB);
  arch::outb(kPortB, static_cast<uint8_t>((port_b & ~kPortBSpeaker) | kPortBGate2));
  arch::outb(kPitCommand, kPitChannel2LoHiMode2);
  arch::outb(kPitChannel2, 0);
  arch::outb(kPitChannel2, 0);
  const Counter c{ReadPitChannel2, kPitChannel2, kPitMask, true, kPitHz};
  const TscMeasurement m = Measure(c);
  arch::outb(kPortB, port_b);
  return m;
}

}  // namespace pvops::hw
