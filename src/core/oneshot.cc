// SPDX-License-Identifier: MIT
#include "core/oneshot.h"

#include <pvops/pvops.h>

#include "arch/x86/arch.h"
#include "core/cpu_area.h"
#include "core/runtime.h"

namespace pvops::core {
namespace {

// Past the deadline by 100 us, then 200 us, ... up to ~410 ms: Linux allows Xen's timer_slop
// 100 us, and the cap keeps a clock that stalls from delaying the handler by more than that.
constexpr uint64_t kRearmStepNs = 100'000;
constexpr uint32_t kMaxRearmShift = 12;

}  // namespace

void OneshotArmed(uint64_t deadline_ns, uint8_t vector) {
  PerCpu& c = ThisArea().core;
  // Only this CPU's interrupt handler reads these: program order (and the compiler barrier
  // of the atomics) is all the ordering needed; the deadline is stored last, as the flag.
  __atomic_store_n(&c.oneshot_deadline, uint64_t{0}, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  c.oneshot_vector = vector;
  c.oneshot_early = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&c.oneshot_deadline, deadline_ns, __ATOMIC_RELAXED);
}

OneshotVerdict OneshotInterrupt(uint8_t vector) {
  PerCpu& c = ThisArea().core;
  const uint64_t deadline = __atomic_load_n(&c.oneshot_deadline, __ATOMIC_RELAXED);
  if (deadline == 0 || c.oneshot_vector != vector) return OneshotVerdict::kNotArmed;
  if (pvops_clock_ns() >= deadline) {
    __atomic_store_n(&c.oneshot_deadline, uint64_t{0}, __ATOMIC_RELAXED);
    return OneshotVerdict::kDue;
  }
  const uint32_t early = c.oneshot_early;
  uint64_t rearm_at = deadline;
  if (early > 0) {
    const uint32_t shift = early - 1 < kMaxRearmShift ? early - 1 : kMaxRearmShift;
    rearm_at += kRearmStepNs << shift;
  }
  Count(Counter::kTimerEarlyRearms);
  if (pvops_timer_oneshot(rearm_at, vector) != PVOPS_OK) {
    // The device just fired, so the deadline is near: keep the promise by waiting it out
    // here rather than lose the timer.
    for (uint64_t now = pvops_clock_ns(); now < deadline; now = pvops_clock_ns()) arch::pause();
    __atomic_store_n(&c.oneshot_deadline, uint64_t{0}, __ATOMIC_RELAXED);
    return OneshotVerdict::kDue;
  }
  // The re-arm recorded its own target: the promise stays the caller's deadline.
  OneshotArmed(deadline, vector);
  c.oneshot_early = early + 1;
  return OneshotVerdict::kEarly;
}

}  // namespace pvops::core
