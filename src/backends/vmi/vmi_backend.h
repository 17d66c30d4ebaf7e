// The VMI backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::vmi {

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
core::PatchFn PatchSite;      // irq-flag sites straight into the ROM where it allows

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
