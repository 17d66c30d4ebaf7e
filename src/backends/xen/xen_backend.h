/* SPDX-License-Identifier: MIT */
// The Xen backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"
#include "core/xen_public.h"  // first: pins the interface version

#include <xen/event_channel.h>
#include <xen/vcpu.h>

namespace pvops::xen {

// What the backend knows of one CPU.
struct PerCpu {
  uint32_t vcpu_id;
  uint32_t ready;            // cpu_init bound its events (else HVM's LAPIC serves it)
  evtchn_port_t timer_port;  // VIRQ_TIMER for this vCPU
  evtchn_port_t kick_port;   // masked IPI port that SCHEDOP_poll waits on
  uint8_t timer_vector;
  uint8_t skip_next_eoi;  // HVM: the callback vector was not delivered by the LAPIC
  uint8_t lazy;           // PV: lazy MMU mode depth (0 or 1)
  uint8_t boot_clock;     // its own vcpu_time_info was unfilled: reads the boot CPU's
  uint64_t cr3;           // PV: the guest-physical CR3 last installed on this CPU
};

// The area Xen keeps this vCPU's runstate in (VCPUOP_register_runstate_memory_area).
struct alignas(64) Runstate {
  vcpu_runstate_info info;
  uint32_t registered;
};

// PV lazy MMU mode: up to this many queued entries go out as one multicall; one more issues
// the full batch first.
inline constexpr uint32_t kBatchCapacity = 64;
struct Batch {
  multicall_entry_t calls[kBatchCapacity];
  // mmu_update and mmuext_op take a pointer to their request: it lives here until issued.
  union Request {
    mmu_update_t update;
    mmuext_op_t ext;
  } requests[kBatchCapacity];
  uint32_t count;
  uint32_t updates;  // entries that change a PTE (the rest are flushes)
};

// The backend's part of each CPU's area (core/cpu_area.h). vcpu_info stays in shared_info,
// Xen's page: registering it elsewhere (VCPUOP_register_vcpu_info) cannot be undone.
struct CpuPart {
  PerCpu cpu;
  Runstate runstate;
  // IPI ports by vector, bound on first use; 0 = not yet (Xen never hands out port 0). The
  // 2-level ABI's ports fit 16 bits.
  uint16_t ipi_ports[256];
  Batch batch;
};

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
core::PatchFn PatchSite;        // the PV irq-flag ops' own thunks; PV hypercalls inline
core::ReleaseCpuFn ReleaseCpu;  // xen_suspend.cc
core::ReleaseFn Release;
extern const core::MemoryOps kMemoryOps;  // xen_memory.cc
// pvops_early_init on the PV entry (xen_pv.cc).
[[nodiscard]] pvops_status EarlyInitPv(const void* start_info, pvops_ops* ops);

inline constexpr core::Backend kBackend = {PVOPS_BACKEND_XEN,
                                           "xen",
                                           Probe,
                                           Init,
                                           {"features", "start_or_hvm_flags", "paths", "mode"},
                                           nullptr,
                                           kCounters.group(),
                                           PatchSite,
                                           PVOPS_MOVE_HOOK(ReleaseCpu),
                                           PVOPS_MOVE_HOOK(Release),
                                           &kMemoryOps};

}  // namespace pvops::xen
