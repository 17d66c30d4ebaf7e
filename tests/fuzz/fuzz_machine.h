/* SPDX-License-Identifier: MIT */
// What every fuzz target shares: a fresh simulated machine per input, the library reset on it
// as a unit test's fixture does (tests/sim/sim_test.cc), and the input read as a script.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <pvops/pvops.h>

#include "core/backend.h"
#include "core/runtime.h"
#include "hw/shared_state.h"
#include "sim_cpu.h"
#include "sim_lapic.h"
#include "sim_machine.h"

namespace pvops::fuzz {

// One input's machine: installed on construction, uninstalled (and the library's state
// forgotten) on destruction.
class Machine {
 public:
  Machine() {
    sim::Install(&sim);
    core::ResetForTest();
    hw::ForgetCachedState();
    pvops_table = core::kNativeOps;
    model.max_basic_leaf = 0x16;
    model.tsc_ratio_denominator = 1;
    model.tsc_ratio_numerator = 80;
    model.crystal_hz = 25'000'000;
    model.base_mhz = 2000;
    sim::LoadCpuModel(sim, model);
    sim.SetCpuidMiss(sim::SimCpu::CpuidMiss::kEchoLastBasicLeaf);
  }
  ~Machine() {
    sim::Install(nullptr);
    core::ResetForTest();
  }
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  sim::SimCpu sim;
  sim::CpuModel model;
  sim::SimLapic lapic{sim};
};

}  // namespace pvops::fuzz
