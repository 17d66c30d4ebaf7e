// The Hyper-V backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::hyperv {

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;  // the reference TSC page, where the clock reads it

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_HYPERV, "hyperv", Probe, Init,
    {"privileges", "hints", "max_vps", "enabled"}, UserClock};

}  // namespace pvops::hyperv
