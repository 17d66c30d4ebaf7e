/* SPDX-License-Identifier: MIT */
// The backends this build holds (CMake PVOPS_BACKENDS defines PVOPS_WITH_NAME for each; native
// is always there): their headers, for the core's table of backends (core/init.cc) and their
// parts of the per-CPU area (core/cpu_area.h).
#pragma once

#include "backends/native/native_backend.h"
#ifdef PVOPS_WITH_HYPERV
#include "backends/hyperv/hyperv_backend.h"
#endif
#ifdef PVOPS_WITH_KVM
#include "backends/kvm/kvm_backend.h"
#endif
#ifdef PVOPS_WITH_VMI
#include "backends/vmi/vmi_backend.h"
#endif
#ifdef PVOPS_WITH_XEN
#include "backends/xen/xen_backend.h"
#endif
