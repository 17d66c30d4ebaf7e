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

// A host test's simulated hypervisor (tests/xen/fake_xen.h, tests/hyperv/hv_machine.h) as one
// input's machine: built and torn down as GoogleTest would; the target's code runs in a member
// of its subclass, where the fixture's knobs and records are in reach.
template <typename Fixture>
class FixtureMachine : public Fixture {
 protected:
  void TestBody() override {}
};

// One input on a fresh Machine, a FixtureMachine subclass with Run(FuzzedDataProvider&): the
// body of such a target's LLVMFuzzerTestOneInput.
template <typename Machine>
int RunOnFreshMachine(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Machine machine;
  machine.Run(in);
  return 0;
}

// A field the hypervisor writes: kept as the fixture made it, or the input's value.
template <typename T>
void KeepOrFuzz(FuzzedDataProvider& in, T& field) {
  if (in.ConsumeBool()) field = in.ConsumeIntegral<T>();
}

}  // namespace pvops::fuzz
