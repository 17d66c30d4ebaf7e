/* SPDX-License-Identifier: MIT */
// Bounded waiting. Every wait in the guest is a Deadline on pvops::ClockNs; a clock that stops
// advancing also ends the wait (after kStuckPolls equal readings), so a broken clock makes a
// case fail with a reason instead of hanging the run.
#pragma once

#include <stdint.h>

#include <pvops/pvops.hpp>

namespace guest {

inline constexpr uint64_t kNsPerUs = 1000;
inline constexpr uint64_t kNsPerMs = 1000 * kNsPerUs;
inline constexpr uint64_t kNsPerSec = 1000 * kNsPerMs;

// The TSC as the guest reads it itself, a reference apart from the library's clock.
inline uint64_t Rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

// A clock reading paired with the TSC of its moment: the read bracketed by two rdtsc, the
// tightest of a few tries, so a vCPU stopped mid-sample cannot skew a comparison of the two.
struct TscSample {
  uint64_t clock, tsc, bracket;
};

inline TscSample SampleClockAndTsc() {
  TscSample best{0, 0, ~uint64_t{0}};
  for (int attempt = 0; attempt < 16; ++attempt) {
    const uint64_t before = Rdtsc();
    const uint64_t now = pvops::ClockNs();
    const uint64_t after = Rdtsc();
    if (after - before < best.bracket) best = {now, before + (after - before) / 2, after - before};
  }
  return best;
}

class Deadline {
 public:
  explicit Deadline(uint64_t timeout_ns)
      : start_ns_(pvops::ClockNs()), end_ns_(start_ns_ + timeout_ns), last_ns_(start_ns_) {}

  bool Expired() {
    const uint64_t now = pvops::ClockNs();
    if (now >= end_ns_) return true;
    if (now == last_ns_) return ++stuck_polls_ > kStuckPolls;
    last_ns_ = now;
    stuck_polls_ = 0;
    return false;
  }
  // True when Expired() ended the wait because the clock stood still.
  bool ClockStuck() const { return stuck_polls_ > kStuckPolls; }
  uint64_t ElapsedNs() const { return pvops::ClockNs() - start_ns_; }

 private:
  static constexpr uint64_t kStuckPolls = 10'000'000;
  uint64_t start_ns_;
  uint64_t end_ns_;
  uint64_t last_ns_;
  uint64_t stuck_polls_ = 0;
};

inline void CpuRelax() { asm volatile("pause" ::: "memory"); }

// Spins (with pause) until `done()` or the timeout; returns whether `done()` became true.
template <typename Predicate>
bool WaitUntil(uint64_t timeout_ns, Predicate done) {
  Deadline deadline(timeout_ns);
  while (!done()) {
    if (deadline.Expired()) return done();
    CpuRelax();
  }
  return true;
}

// Busy-waits `ns` (bounded like any wait).
inline void SpinFor(uint64_t ns) {
  Deadline deadline(ns);
  while (!deadline.Expired()) CpuRelax();
}

}  // namespace guest
