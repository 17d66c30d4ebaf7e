// The KVM backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::kvm {

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;  // CPU 0's kvmclock tuple's page

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_KVM, "kvm", Probe, Init, {"features", "hints", "enabled", "vmmcall"},
    UserClock,         {}};

}  // namespace pvops::kvm
