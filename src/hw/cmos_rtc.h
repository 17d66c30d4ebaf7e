/* SPDX-License-Identifier: MIT */
// The wall clock from the CMOS real-time clock (MC146818).
#pragma once

#include <pvops/pvops.h>

namespace pvops::hw {

[[nodiscard]] pvops_status CmosRtcWallClock(pvops_wall_clock* out);

}  // namespace pvops::hw
