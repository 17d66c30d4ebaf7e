/* SPDX-License-Identifier: MIT */
// The VMI backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::vmi {

// How many page-table updates one CPU defers in lazy mode before it issues them anyway.
inline constexpr uint32_t kLazyQueueEntries = 16;

struct DeferredUpdate {
  pvops_pte* ptep;
  uint64_t va;
  pvops_pte value;
};

// The backend's part of each CPU's area (core/cpu_area.h): the lazy MMU queue. Only its own
// CPU touches it, with interrupts off (an interrupt handler may update page tables too).
struct CpuPart {
  uint32_t depth;  // lazy_begin nesting
  uint32_t count;
  DeferredUpdate updates[kLazyQueueEntries];
};

// VMI's own counters, listed by pvops_get_counters after the shared ones.
enum class Counter : uint32_t {
  kRomCalls,       // calls into the VMI ROM's entry points
  kBackdoorCalls,  // VMware backdoor calls (port 0x5658, vmcall or vmmcall)
  kCount
};
inline constexpr const char* kCounterNames[] = {"vmi_rom_calls", "vmware_backdoor_calls"};
inline constexpr core::CounterSet<Counter> kCounters{kCounterNames};

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;  // the TSC, once the clock is set up
core::PatchFn PatchSite;      // irq-flag sites into the ROM where it allows; the backdoor inline

inline constexpr core::Backend kBackend = {
    PVOPS_BACKEND_VMI,
    "vmi",
    Probe,
    Init,
    {"rom_address", "rom_and_api_version", "paths", "tsc_khz"},
    UserClock,
    kCounters.group(),
    PatchSite};

}  // namespace pvops::vmi
