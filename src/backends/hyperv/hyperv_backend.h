/* SPDX-License-Identifier: MIT */
// The Hyper-V backend as the core lists it (core/init.cc).
#pragma once

#include "core/backend.h"

namespace pvops::hyperv {

// The backend's pages in each CPU's area (core/cpu_area.h), page-aligned there.
// The VP assist page: the hypervisor owns the whole page (it may keep nested-virtualization
// state after the assist word).
struct alignas(PVOPS_PAGE_SIZE) VpAssistPage {
  uint32_t apic_assist;
  uint8_t rest[PVOPS_PAGE_SIZE - sizeof(uint32_t)];
};
// The slow hypercalls' arguments: the lower half of the page is the input, the upper half the
// output, so neither crosses a page.
inline constexpr uint32_t kArgQwords = PVOPS_PAGE_SIZE / 2 / sizeof(uint64_t);
struct alignas(PVOPS_PAGE_SIZE) ArgPage {
  uint64_t input[kArgQwords];
  uint64_t output[kArgQwords];
};
struct CpuPages {
  VpAssistPage vp_assist;
  ArgPage args;
};
static_assert(sizeof(CpuPages) == 2 * PVOPS_PAGE_SIZE);

// What one CPU registered in cpu_init: the backend's small part of the CPU's area.
struct CpuPart {
  uint32_t vp_index;
  uint8_t vp_index_valid;
  uint8_t vp_assist_enabled;
  uint8_t stimer_ready;    // STIMER0 answered on this CPU
  uint64_t stimer_config;  // last value written to STIMER0_CONFIG (0: none)
  // This CPU's last TIME_REF_COUNT reading and the TSC at it (hv_clock.cc).
  uint64_t last_reference;
  uint64_t last_reference_tsc;
};

// Hyper-V's own counters, listed by pvops_get_counters after the shared ones.
enum class Counter : uint32_t {
  kTscPageReads,         // clock read from the reference TSC page (no exit)
  kRefCounterMsrReads,   // clock read from HV_X64_MSR_TIME_REF_COUNT (an exit)
  kRefCounterMsrFaults,  // that read faulted after its probe passed: the TSC carried time on
  kSpinWaitNotifies,     // HvCallNotifyLongSpinWait issued
  kCount
};
inline constexpr const char* kCounterNames[] = {"tsc_page_reads", "ref_counter_msr_reads",
                                                "ref_counter_msr_faults", "spin_wait_notifies"};
inline constexpr core::CounterSet<Counter> kCounters{kCounterNames};

core::ProbeFn Probe;
core::InitFn Init;
core::UserClockFn UserClock;    // the reference TSC page, where the clock reads it
core::ReleaseCpuFn ReleaseCpu;  // hv_suspend.cc
core::ReleaseFn Release;

inline constexpr core::Backend kBackend = {PVOPS_BACKEND_HYPERV,
                                           "hyperv",
                                           Probe,
                                           Init,
                                           {"privileges", "hints", "max_vps", "enabled"},
                                           UserClock,
                                           kCounters.group(),
                                           nullptr,
                                           PVOPS_MOVE_HOOK(ReleaseCpu),
                                           PVOPS_MOVE_HOOK(Release)};

}  // namespace pvops::hyperv
