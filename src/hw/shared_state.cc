// SPDX-License-Identifier: MIT
#include "hw/shared_state.h"

#include "hw/lapic.h"
#include "hw/lapic_timer.h"
#include "hw/paging.h"
#include "hw/tsc.h"

namespace pvops::hw {

void ForgetCachedState() {
  Lapic::Forget();
  ForgetTimerState();
  ForgetClockCalibration();
}

[[nodiscard]] pvops_status SetUpSharedState() {
  ForgetCachedState();
  return SetUpTlbShootdown();
}

}  // namespace pvops::hw
