// SPDX-License-Identifier: MIT
// lock.*: a paravirtual spinlock's wait/kick pair between two CPUs, and the preemption hint.
#include <pvops/pvops.hpp>

#include "kernel/deadline.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

constexpr uint64_t kWakeBoundNs = 500 * kNsPerMs;

struct WaitKick {
  uint8_t byte;
  uint32_t waiting;
  uint32_t waits;
  uint32_t timed_out;
  uint64_t seen_ns;
};
WaitKick g_wait_kick;

// CPU 1: waits on the byte with LockWait until it changes, re-checking as the API asks.
void WaitOnByte(void*) {
  WaitKick& w = g_wait_kick;
  __atomic_store_n(&w.waiting, 1u, __ATOMIC_RELEASE);
  Deadline deadline(2 * kNsPerSec);
  while (__atomic_load_n(&w.byte, __ATOMIC_ACQUIRE) == 0) {
    pvops::LockWait(&w.byte, 0);
    ++w.waits;
    if (deadline.Expired()) {
      w.timed_out = 1;
      return;
    }
  }
  w.seen_ns = pvops::ClockNs();
}

struct PreemptedAnswer {
  uint32_t cpu;
  int answer;
};
PreemptedAnswer g_preempted;

void AskAboutMyself(void*) {
  g_preempted.cpu = ThisCpu();
  g_preempted.answer = pvops::VcpuIsPreempted(g_preempted.cpu) ? 1 : 0;
}

}  // namespace

Result LockWaitKick() {
  if (!CpuOnline(1)) return Result::Skip("needs 2 vCPUs, have %u", OnlineCpus());
  g_wait_kick = WaitKick{};
  if (!PostWork(1, WaitOnByte, nullptr)) return Result::Fail("cpu 1 is busy");
  if (!WaitUntil(kNsPerSec,
                 [] { return __atomic_load_n(&g_wait_kick.waiting, __ATOMIC_ACQUIRE) != 0; }))
    return Result::Fail("cpu 1 did not start waiting within 1 s");
  SpinFor(5 * kNsPerMs);  // let it settle inside LockWait
  const uint64_t set_ns = pvops::ClockNs();
  __atomic_store_n(&g_wait_kick.byte, uint8_t{1}, __ATOMIC_RELEASE);
  pvops::LockKick(1);
  if (!WaitForWork(1, 3 * kNsPerSec)) return Result::Fail("cpu 1 still waiting 3 s after the kick");
  if (g_wait_kick.timed_out) return Result::Fail("cpu 1 never saw the byte change within 2 s");
  const uint64_t latency = g_wait_kick.seen_ns > set_ns ? g_wait_kick.seen_ns - set_ns : 0;
  Note("wait_kick: cpu 1 saw the change %lu us after set+kick, %u lock_wait call(s)",
       latency / kNsPerUs, g_wait_kick.waits);
  if (latency > kWakeBoundNs)
    return Result::Fail("cpu 1 saw the change %lu ms after the kick (bound %lu ms)",
                        latency / kNsPerMs, kWakeBoundNs / kNsPerMs);
  return Result::Pass();
}

Result LockVcpuIsPreempted() {
  // Only a CPU asking about itself is known to be running; asking about another could
  // legitimately say "preempted" on a busy host.
  Check(!pvops::VcpuIsPreempted(ThisCpu()),
        "cpu %u is running but vcpu_is_preempted says preempted", ThisCpu());
  if (!CpuOnline(1)) return CheckResult();
  g_preempted = PreemptedAnswer{~0u, -1};
  if (!Check(PostWork(1, AskAboutMyself, nullptr) && WaitForWork(1, kNsPerSec),
             "cpu 1 did not answer within 1 s"))
    return CheckResult();
  Check(g_preempted.cpu == 1 && g_preempted.answer == 0, "cpu %u asked about itself: preempted=%d",
        g_preempted.cpu, g_preempted.answer);
  return CheckResult();
}

}  // namespace guest::suite
