/* SPDX-License-Identifier: MIT */
// Time limits for the hardware layer's waits. Measured on the table's clock (pvops_clock_ns),
// so a backend that reuses these waits and supplies a paravirtual clock pays no TSC calibration.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "arch/x86/arch.h"

namespace pvops::hw {

class Deadline {
 public:
  explicit Deadline(uint64_t timeout_ns) : end_ns_(pvops_clock_ns() + timeout_ns) {}
  bool Expired() const { return pvops_clock_ns() >= end_ns_; }

 private:
  uint64_t end_ns_;
};

// Spins (with pause) for at least `ns`: the SDM's INIT/SIPI delays.
inline void DelayNs(uint64_t ns) {
  const Deadline done(ns);
  while (!done.Expired()) arch::pause();
}

}  // namespace pvops::hw
