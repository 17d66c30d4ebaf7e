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

SimTest::~SimTest() { Install(nullptr); }

}  // namespace pvops::sim
