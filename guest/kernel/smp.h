/* SPDX-License-Identifier: MIT */
// Secondary CPUs: bring-up through pvops::StartCpu and a per-CPU mailbox that runs one work
// item at a time. Every wait is bounded; a CPU that does not check in, or does not finish its
// work in time, is reported, never waited for forever.
#pragma once

#include <stdint.h>

#include <pvops/pvops.hpp>

namespace guest {

inline constexpr uint64_t kCpuCheckinTimeoutNs = 2'000'000'000;

struct CpuBringup {
  pvops_status area_status;    // what pvops_set_cpu_area returned
  pvops_status start_status;   // what StartCpu returned
  pvops_status online_status;  // what pvops_cpu_online returned on the CPU itself
  bool checked_in;
  uint64_t checkin_ns;  // StartCpu to check-in
};

// Starts CPUs 1..expected-1 one after the other (apic_id = cpu, as QEMU and KVM number them).
void StartSecondaryCpus(uint32_t expected);
const CpuBringup& BringupOf(uint32_t cpu);
uint32_t ExpectedCpus();
uint32_t OnlineCpus();  // the boot CPU plus every CPU that checked in
bool CpuOnline(uint32_t cpu);

using Work = void (*)(void* arg);

// Posts `work(arg)` to `cpu`'s mailbox. False when the CPU is offline or still busy with
// earlier work (a previous case that timed out).
bool PostWork(uint32_t cpu, Work work, void* arg);
// Waits for the posted work to return; false on timeout.
bool WaitForWork(uint32_t cpu, uint64_t timeout_ns);
// Whether `cpu`'s mailbox is empty (no work running or queued).
bool CpuIdle(uint32_t cpu);

}  // namespace guest
