/* SPDX-License-Identifier: MIT */
// The two pieces every TSC-based clock of the library shares: turning ticks into nanoseconds
// at a known rate, and never handing out a value smaller than one already handed out (TSCs of
// different CPUs, or per-vCPU hypervisor tuples, may disagree by a little).
#pragma once

#include <stdint.h>

namespace pvops::core {

// A TSC rate anyone states or measures is believed only inside these bounds.
inline constexpr uint64_t kMinTscKhz = 1000;         // 1 MHz
inline constexpr uint64_t kMaxTscKhz = 100'000'000;  // 100 GHz
constexpr bool SaneTscKhz(uint64_t khz) { return khz >= kMinTscKhz && khz <= kMaxTscKhz; }

// ns = ticks * mult >> 32: a 32.32 multiplier keeps sub-ppb precision for any sane rate and
// needs no 128-bit division (no compiler helper in a freestanding link).
struct TscScale {
  uint64_t khz;
  uint64_t mult;

  // A rate of 0 counts ticks as nanoseconds: a clock that still moves, if not at the right pace.
  static constexpr TscScale ForKhz(uint64_t khz) {
    return {khz, khz != 0 ? (uint64_t{1'000'000} << kShift) / khz : uint64_t{1} << kShift};
  }
  uint64_t ToNs(uint64_t ticks) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * mult) >> kShift);
  }

  static constexpr uint32_t kShift = 32;
};

// The largest value handed out so far, shared by every CPU.
class MonotonicClamp {
 public:
  // Returns `ns`, or the largest value already returned if that is later.
  uint64_t Clamp(uint64_t ns) {
    uint64_t last = __atomic_load_n(&last_, __ATOMIC_RELAXED);
    do {
      if (ns <= last) return last;
    } while (
        !__atomic_compare_exchange_n(&last_, &last, ns, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return ns;
  }
  void Reset() { __atomic_store_n(&last_, 0, __ATOMIC_RELAXED); }

 private:
  uint64_t last_ = 0;
};

}  // namespace pvops::core
