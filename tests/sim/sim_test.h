/* SPDX-License-Identifier: MIT */
// The GoogleTest fixture every simulated-CPU test derives from: a fresh SimCpu installed as
// current, and the library's global state (core tables, native caches, the live ops table)
// back to what a freshly loaded kernel has.
#pragma once

#include <gtest/gtest.h>

#include <pvops/pvops.h>

#include <memory>
#include <vector>

#include "sim_cpu.h"

namespace pvops::sim {

class SimTest : public ::testing::Test {
 protected:
  SimTest();
  ~SimTest() override;

  // Page-aligned memory for one CPU's area, kept until the test ends.
  void* NewCpuArea();
  // Hands `cpu` a fresh area (pvops_set_cpu_area) and runs pvops_cpu_online on it; the status
  // of the online.
  pvops_status OnlineCpu(uint32_t cpu);

  SimCpu sim_;

 private:
  struct alignas(PVOPS_PAGE_SIZE) AreaMemory {
    unsigned char bytes[PVOPS_CPU_AREA_SIZE];
  };
  std::vector<std::unique_ptr<AreaMemory>> areas_;
};

}  // namespace pvops::sim
