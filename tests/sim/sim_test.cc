// SPDX-License-Identifier: MIT
#include "sim_test.h"

#include "core/backend.h"
#include "core/runtime.h"
#include "hw/shared_state.h"

namespace pvops::sim {

SimTest::SimTest() {
  Install(&sim_);
  core::ResetForTest();
  hw::ForgetCachedState();
  pvops_table = core::kNativeOps;
}

SimTest::~SimTest() {
  Install(nullptr);
  // The library forgets the areas before they are freed.
  core::ResetForTest();
}

void* SimTest::NewCpuArea() {
  areas_.push_back(std::make_unique<AreaMemory>());
  return areas_.back()->bytes;
}

pvops_status SimTest::OnlineCpu(uint32_t cpu) {
  if (const pvops_status st = pvops_set_cpu_area(cpu, NewCpuArea()); st != PVOPS_OK) return st;
  pvops_status st = PVOPS_OK;
  sim_.RunOnCpu(cpu, [&] { st = pvops_cpu_online(cpu); });
  return st;
}

}  // namespace pvops::sim
