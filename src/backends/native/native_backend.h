// The native backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::native {

core::ProbeFn Probe;
core::InitFn Init;

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_NATIVE, "native", Probe, Init, {}, nullptr, {}};

}  // namespace pvops::native
