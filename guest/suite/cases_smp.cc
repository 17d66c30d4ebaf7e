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
  for (uint32_t cpu = 1; cpu < expected; ++cpu) {
    const CpuBringup& b = BringupOf(cpu);
    if (b.start_status != PVOPS_OK)
      return Result::Fail("StartCpu(%u) returned %s", cpu, pvops_status_name(b.start_status));
    if (!b.checked_in) return Result::Fail("cpu %u did not check in within 2 s", cpu);
    if (b.online_status != PVOPS_OK)
      return Result::Fail("pvops_cpu_online(%u) returned %s", cpu,
                          pvops_status_name(b.online_status));
    Note("cpu %u checked in %lu us after StartCpu", cpu, b.checkin_ns / kNsPerUs);
    WhoRan who{~0u, 0};
    if (!PostWork(cpu, RecordWhoRan, &who)) return Result::Fail("cpu %u is busy", cpu);
    if (!WaitForWork(cpu, kNsPerSec))
      return Result::Fail("cpu %u did not run work within 1 s", cpu);
    if (who.cpu != cpu) return Result::Fail("work posted to cpu %u ran on cpu %u", cpu, who.cpu);
  }
  if (OnlineCpus() != expected)
    return Result::Fail("%u CPUs online, %u expected", OnlineCpus(), expected);
  return Result::Pass();
}

}  // namespace guest::suite
