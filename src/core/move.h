/* SPDX-License-Identifier: MIT */
// Moving a running guest to another hypervisor: pvops_suspend releases the backend, pvops_resume
// chooses again (core/init.cc's ChooseBackend) on the hypervisor the guest woke up on. What the
// rest of the library needs from it: the clock offset a resume carried over.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "core/reason.h"

namespace pvops::core {

// pvops_init: no move so far, no mailbox, no offset.
void ForgetMoves();

// A backend's release (core/backend.h ReleaseCpuFn, ReleaseFn): writes 0 to `msr`, turning off
// what it registered; false, with the MSR named in `why`, when the write faults.
[[nodiscard]] bool ReleaseMsr(uint32_t msr, Reason* why);

// Whether clock_ns() adds an offset to the backend's own clock (a resume carried one).
bool ClockOffsetCarried();
// A clock_ns() deadline in the backend's own time base, for a timer the hypervisor fires by
// absolute time (Xen's singleshot, Hyper-V's stimer); never 0 (which would cancel).
uint64_t BackendTimeNs(uint64_t clock_ns);

#ifdef PVOPS_SIM_CPU
// Host tests: what a parked CPU does once released (the spin itself needs a second thread).
// False when the running CPU is not parked.
bool FinishParkForTest();
#endif

// core/init.cc, for the resume: detect -> select -> init into the live table and `info`, and
// one pass over the env's call sites.
extern pvops_info g_info;
void ChooseBackend(pvops_info* info);
[[nodiscard]] pvops_status PatchEnvSites(pvops_info* info);

}  // namespace pvops::core
