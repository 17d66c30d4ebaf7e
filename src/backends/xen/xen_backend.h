// The Xen backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::xen {

// Xen's own counters, listed by pvops_get_counters after the shared ones.
enum class Counter : uint32_t {
  kEventUpcalls,  // event-channel upcalls taken (PV callback or HVM vector)
  kUpdateErrors,  // page-table updates or flushes Xen refused (incl. inside a batch)
  kCount
};
inline constexpr const char* kCounterNames[] = {"event_upcalls", "xen_update_errors"};
inline constexpr core::CounterSet<Counter> kCounters{kCounterNames};

core::ProbeFn Probe;
core::InitFn Init;
core::PatchFn PatchSite;  // the PV irq-flag ops' own thunks

inline constexpr core::Backend kBackend = {PVOPS_BACKEND_XEN,
                                           "xen",
                                           Probe,
                                           Init,
                                           {"features", "start_or_hvm_flags", "paths", "mode"},
                                           nullptr,
                                           kCounters.group(),
                                           PatchSite};

}  // namespace pvops::xen
