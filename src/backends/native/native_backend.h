/* SPDX-License-Identifier: MIT */
// The native backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::native {

core::ProbeFn Probe;
core::InitFn Init;
// The native instruction at a site whose op is native's, whichever backend is installed: the
// core asks it before the chosen backend's hook, so native's own entry below needs none.
core::PatchFn PatchSite;

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_NATIVE, "native", Probe, Init, {}, nullptr, {}};

}  // namespace pvops::native
