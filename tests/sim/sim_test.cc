#include "sim_test.h"

#include "backends/native/native.h"
#include "core/runtime.h"

namespace pvops::sim {

SimTest::SimTest() {
  Install(&sim_);
  core::ResetForTest();
  native::ForgetCachedState();
  pvops_table = native::kNativeOps;
}

SimTest::~SimTest() { Install(nullptr); }

}  // namespace pvops::sim
