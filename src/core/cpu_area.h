/* SPDX-License-Identifier: MIT */
// Everything the library keeps per CPU lives in one area: the boot CPU's is the library's own,
// every other CPU's is memory the kernel hands over (pvops_set_cpu_area). Each part belongs to
// one piece of the library (the core, the hardware layer, a backend), which alone touches it;
// a backend the build leaves out (CMake PVOPS_BACKENDS) has no part. Page-sized parts come
// first, each on its own pages; the small parts share what follows.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "core/built_in_backends.h"
#include "core/runtime.h"
#include "hw/paging.h"

namespace pvops::core {

struct CpuArea {
#ifdef PVOPS_WITH_HYPERV
  hyperv::CpuPages hyperv_pages;
#endif
  PerCpu core;
  hw::ShootdownMailbox shootdown;
#ifdef PVOPS_WITH_KVM
  kvm::CpuPart kvm;
#endif
#ifdef PVOPS_WITH_XEN
  xen::CpuPart xen;
#endif
#ifdef PVOPS_WITH_HYPERV
  hyperv::CpuPart hyperv;
#endif
#ifdef PVOPS_WITH_VMI
  vmi::CpuPart vmi;
#endif
};
static_assert(sizeof(CpuArea) <= PVOPS_CPU_AREA_SIZE, "PVOPS_CPU_AREA_SIZE must hold the area");
static_assert(alignof(CpuArea) <= PVOPS_PAGE_SIZE, "a page-aligned area must do");

// `cpu`'s area; nullptr when the kernel gave it none (or cpu is past PVOPS_MAX_CPUS).
CpuArea* AreaOf(uint32_t cpu);
// The running CPU's area. A CPU without one (it came up although pvops_cpu_online refused it)
// shares the boot CPU's: wrong per-CPU values at worst, never a fault.
CpuArea& ThisArea();

// pvops_init: the boot CPU's area zeroed, every other CPU's forgotten.
void ResetCpuAreas();

}  // namespace pvops::core
