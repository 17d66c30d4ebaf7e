// The Xen backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::xen {

core::ProbeFn Probe;
core::InitFn Init;

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_XEN, "xen", Probe, Init,
    {"features", "start_or_hvm_flags", "paths", "mode"}, nullptr};

}  // namespace pvops::xen
