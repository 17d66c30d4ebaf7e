/* SPDX-License-Identifier: MIT */
// The KVM backend as the core lists it (core/init.cc).
#pragma once

#include <linux/kvm_para.h>

#include "core/backend.h"
#include "core/xen_public.h"  // vcpu_time_info: kvmclock uses Xen's pvclock layout

namespace pvops::kvm {

// The backend's part of each CPU's area (core/cpu_area.h): what KVM writes for one vCPU. Each
// member is naturally aligned and at most 64 bytes, so none crosses a page (KVM requires that
// of each area).
struct alignas(64) CpuPart {
  kvm_steal_time steal;  // 64 bytes, 64-aligned (MSR_KVM_STEAL_TIME needs 64)
  // A secondary CPU's kvmclock tuple (MSR_KVM_SYSTEM_TIME_NEW). The boot CPU's has a page of
  // its own: a kernel maps that page into every process for its vDSO.
  vcpu_time_info clock;
  uint32_t pv_eoi;            // MSR_KVM_PV_EOI_EN needs 4-byte alignment
  uint32_t steal_registered;  // the library's own: the steal area is live on this vCPU
  uint32_t clock_registered;  // the library's own: `clock` is KVM's (else read the boot CPU's)
  uint32_t registered;        // the library's own: feature bits this vCPU took (what to release)
};
static_assert(sizeof(kvm_steal_time) == 64);

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;    // CPU 0's kvmclock tuple's page
core::ReleaseCpuFn ReleaseCpu;  // kvm_suspend.cc

inline constexpr core::Backend kBackend = {PVOPS_BACKEND_KVM,
                                           "kvm",
                                           Probe,
                                           Init,
                                           {"features", "hints", "enabled", "vmmcall"},
                                           UserClock,
                                           {},
                                           nullptr,
                                           PVOPS_MOVE_HOOK(ReleaseCpu)};

}  // namespace pvops::kvm
