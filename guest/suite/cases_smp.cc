// SPDX-License-Identifier: MIT
// smp.bringup: every expected CPU started, checked in within 2 s, and runs work it is given.
#include <pvops/pvops.hpp>

#include "kernel/deadline.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

struct WhoRan {
  uint32_t cpu;
  uint32_t ran;
};

void RecordWhoRan(void* arg) {
  auto* who = static_cast<WhoRan*>(arg);
  who->cpu = ThisCpu();
  __atomic_store_n(&who->ran, 1u, __ATOMIC_RELEASE);
}

}  // namespace

Result SmpBringup() {
  const uint32_t expected = ExpectedCpus();
  // Each CPU on its own: one that did not come up leaves the others to be checked. Within a CPU
  // each step needs the one before.
  for (uint32_t cpu = 1; cpu < expected; ++cpu) {
    const CpuBringup& b = BringupOf(cpu);
    if (!Check(b.area_status == PVOPS_OK, "pvops_set_cpu_area(%u) returned %s", cpu,
               pvops_status_name(b.area_status)))
      continue;
    if (!Check(b.start_status == PVOPS_OK, "StartCpu(%u) returned %s", cpu,
               pvops_status_name(b.start_status)))
      continue;
    if (!Check(b.checked_in, "cpu %u did not check in within 2 s", cpu)) continue;
    if (!Check(b.online_status == PVOPS_OK, "pvops_cpu_online(%u) returned %s", cpu,
               pvops_status_name(b.online_status)))
      continue;
    Note("cpu %u checked in %lu us after StartCpu", cpu, b.checkin_ns / kNsPerUs);
    WhoRan who{~0u, 0};
    if (!Check(PostWork(cpu, RecordWhoRan, &who), "cpu %u is busy", cpu)) continue;
    // Work still pending holds a pointer to `who`: stop here rather than reuse its frame.
    if (!Check(WaitForWork(cpu, kNsPerSec), "cpu %u did not run work within 1 s", cpu))
      return CheckResult();
    Check(who.cpu == cpu, "work posted to cpu %u ran on cpu %u", cpu, who.cpu);
  }
  Check(OnlineCpus() == expected, "%u CPUs online, %u expected", OnlineCpus(), expected);
  return CheckResult();
}

}  // namespace guest::suite
