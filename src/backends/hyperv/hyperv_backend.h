// The Hyper-V backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::hyperv {

// Hyper-V's own counters, listed by pvops_get_counters after the shared ones.
enum class Counter : uint32_t {
  kTscPageReads,        // clock read from the reference TSC page (no exit)
  kRefCounterMsrReads,  // clock read from HV_X64_MSR_TIME_REF_COUNT (an exit)
  kSpinWaitNotifies,    // HvCallNotifyLongSpinWait issued
  kCount
};
inline constexpr const char* kCounterNames[] = {"tsc_page_reads", "ref_counter_msr_reads",
                                                "spin_wait_notifies"};
inline constexpr core::CounterSet<Counter> kCounters{kCounterNames};

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;  // the reference TSC page, where the clock reads it

inline constexpr core::Backend kBackend = {PVOPS_BACKEND_HYPERV,
                                           "hyperv",
                                           Probe,
                                           Init,
                                           {"privileges", "hints", "max_vps", "enabled"},
                                           UserClock,
                                           kCounters.group()};

}  // namespace pvops::hyperv
