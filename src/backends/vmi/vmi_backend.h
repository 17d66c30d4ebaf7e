// The VMI backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::vmi {

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;  // the TSC, once the clock is set up

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_VMI, "vmi", Probe, Init,
    {"rom_address", "rom_and_api_version", "paths", "tsc_khz"}, UserClock};

}  // namespace pvops::vmi
