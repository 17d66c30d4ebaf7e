/* SPDX-License-Identifier: MIT */
// timer_oneshot's promise, kept once for every backend: the handler runs only when clock_ns()
// has reached the deadline. A timer device that counts on another clock than clock_ns (the LAPIC
// timer against a measured TSC rate, a hypervisor's timer against its own time) can fire a
// little early; like Linux's hrtimer_interrupt, the library then arms the timer again for the
// rest instead of delivering.
#pragma once

#include <stdint.h>

namespace pvops::core {

// A backend's timer_oneshot calls this before it programs the device: `deadline_ns` armed on
// this CPU for `vector`, or 0 for a cancel. Recording first means an interrupt that arrives
// while the device is being programmed already finds the new deadline.
void OneshotArmed(uint64_t deadline_ns, uint8_t vector);

enum class OneshotVerdict : uint8_t {
  kDue,       // the armed deadline has passed: run the handler (the timer is now disarmed)
  kEarly,     // before the deadline by clock_ns: armed again, run nothing
  kNotArmed,  // no one-shot on this vector here (cancelled, or another interrupt source)
};

// The timer's interrupt or event arrived on this CPU. On kEarly the timer was armed again
// through the table's timer_oneshot: at the deadline itself the first time (the rest), past it
// with a growing step after that (a device whose own clock already passed the deadline would
// otherwise fire at once, forever). Each early arrival counts as `timer_early_rearms`.
OneshotVerdict OneshotInterrupt(uint8_t vector);

}  // namespace pvops::core
