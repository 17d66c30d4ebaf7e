// The GoogleTest fixture every simulated-CPU test derives from: a fresh SimCpu installed as
// current, and the library's global state (core tables, native caches, the live ops table)
// back to what a freshly loaded kernel has.
#pragma once

#include <gtest/gtest.h>

#include "sim_cpu.h"

namespace pvops::sim {

class SimTest : public ::testing::Test {
 protected:
  SimTest();
  ~SimTest() override;

  SimCpu sim_;
};

}  // namespace pvops::sim
