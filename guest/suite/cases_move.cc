// SPDX-License-Identifier: MIT
// move.hop: one suspend/resume cycle with work that spans it. Under a mover (the `move` mode,
// kernel/main.cc) it waits for the mover's request, or asks for one, and the guest wakes up on
// the next hypervisor of the plan; without one (move.self in the suite) it resumes on the same
// VM, which exercises every release and re-init the library does. Nothing here names a
// hypervisor: what changed is read back from pvops_get_info().
#include <pvops/pvops.hpp>

#include "kernel/deadline.h"
#include "kernel/detection.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "suite/cases.h"
#include "suite/test_vectors.h"

namespace guest::suite {
namespace {

constexpr uint64_t kTimerDelayNs = 2 * kNsPerMs;
constexpr uint64_t kRequestWaitNs = 30 * kNsPerSec;
// How far the clock may stray across a hop from the real time (the guest's TSC and the mover's
// measured pause).
constexpr uint64_t kHopSlackNs = 10 * kNsPerMs;

struct SharedCount {
  uint64_t total;     // added to by both CPUs
  uint64_t cpu1_own;  // what CPU 1 added, written when it stops
  uint32_t stop;
  uint32_t started;
};
SharedCount g_count;

struct TimerHits {
  uint32_t hits;
  uint64_t last_ns;
};
TimerHits g_timer;

void AddUntilStopped(void* arg) {
  auto* c = static_cast<SharedCount*>(arg);
  uint64_t own = 0;
  __atomic_store_n(&c->started, 1u, __ATOMIC_RELEASE);
  while (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) == 0) {
    __atomic_fetch_add(&c->total, 1, __ATOMIC_RELAXED);
    ++own;
    CpuRelax();
  }
  __atomic_store_n(&c->cpu1_own, own, __ATOMIC_RELEASE);
}

void OnTimer(uint8_t, void*) {
  g_timer.last_ns = pvops::ClockNs();
  __atomic_fetch_add(&g_timer.hits, 1u, __ATOMIC_RELEASE);
}

uint64_t AddOnThisCpu(uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) __atomic_fetch_add(&g_count.total, 1, __ATOMIC_RELAXED);
  return n;
}

// The mover's request, or (after a while without one) asked for; false when none came.
bool WaitForRequest() {
  if (WaitUntil(kRequestWaitNs, [] { return pvops_move_pending() != 0; })) return true;
  Note("no request within %lu s: asking for the next hop", kRequestWaitNs / kNsPerSec);
  if (!pvops::Status(pvops_move_ask()).ok()) return false;
  return WaitUntil(kRequestWaitNs, [] { return pvops_move_pending() != 0; });
}

Result Hop(bool via_mover) {
  const pvops_info& info = pvops::Info();
  const uint32_t backend_before = info.backend;
  const uint32_t resumes_before = info.resumes;
  const uint32_t moves_before = info.moves;
  if (via_mover && !Check(WaitForRequest(), "no move request within %lu s, asked or not",
                          2 * kRequestWaitNs / kNsPerSec))
    return CheckResult();

  const bool cpu1 = CpuOnline(1) && CpuIdle(1);
  g_count = SharedCount{};
  if (cpu1 && !Check(PostWork(1, AddUntilStopped, &g_count), "cpu 1 is busy")) return CheckResult();
  if (cpu1)
    (void)WaitUntil(kNsPerSec,
                    [] { return __atomic_load_n(&g_count.started, __ATOMIC_ACQUIRE) != 0; });
  uint64_t cpu0_own = AddOnThisCpu(1000);

  g_timer = TimerHits{};
  const pvops::Status routed = pvops::RegisterHandler(kVectorMoveTimer, OnTimer);
  if (!Check(routed.ok(), "register_handler: %s", routed.name())) return CheckResult();
  const uint64_t arms_before = pvops_get_counter("timer_arms");
  const uint64_t deadline = pvops::ClockNs() + kTimerDelayNs;
  const pvops::Status armed = pvops::TimerOneshot(deadline, kVectorMoveTimer);
  Check(armed.ok(), "timer_oneshot: %s", armed.name());

  const uint64_t tsc_khz = pvops::TscKhz();
  // Each clock reading with the TSC of its own moment: a vCPU stopped between two separate
  // reads would count the stop on one side only.
  const TscSample before = SampleClockAndTsc();
  const uint64_t clock_before = before.clock;
  const pvops::Status suspended = pvops_suspend();
  if (!suspended.ok()) {
    __atomic_store_n(&g_count.stop, 1u, __ATOMIC_RELEASE);
    if (cpu1) (void)WaitForWork(1, kNsPerSec);
    (void)pvops::TimerOneshot(0, kVectorMoveTimer);
    (void)pvops::RegisterHandler(kVectorMoveTimer, nullptr);
    if (suspended.code() == PVOPS_ERR_UNSUPPORTED)
      return Result::Skip("pvops_suspend: unsupported (%s)", info.move_reason);
    return Result::Fail("pvops_suspend: %s (%s)", suspended.name(), info.move_reason);
  }
  const pvops::Status resumed = pvops_resume();
  const TscSample after = SampleClockAndTsc();
  const uint64_t clock_after = after.clock;
  const uint64_t total_at_resume = __atomic_load_n(&g_count.total, __ATOMIC_ACQUIRE);

  Note("move: hop=%u backend=%s previous=%s clock_before=%lu clock_after=%lu last_ns=%lu "
       "first_ns=%lu own_ns=%lu pause_ns=%lu moves=%u reason=\"%s\"",
       info.resumes, pvops_backend_name(info.backend), pvops_backend_name(info.previous_backend),
       clock_before, clock_after, info.move_last_ns, info.move_first_ns, info.move_own_ns,
       info.move_pause_ns, info.moves, info.move_reason);
  PrintDetection();
  Check(resumed.ok(), "pvops_resume: %s (%s)", resumed.name(), info.move_reason);
  Check(info.resumes == resumes_before + 1, "resumes %u, was %u", info.resumes, resumes_before);
  Check(info.previous_backend == backend_before, "previous backend %s, was on %s",
        pvops_backend_name(info.previous_backend), pvops_backend_name(backend_before));
  if (via_mover)
    Check(info.moves == moves_before + 1, "moves %u, was %u", info.moves, moves_before);
  else
    Check(info.backend == backend_before, "same VM, but backend %s after %s",
          pvops_backend_name(info.backend), pvops_backend_name(backend_before));
  // The clock: never back, on from the last reading plus the guest's own time and the mover's
  // pause, and across the whole hop no more than that measured pause and 10 ms.
  Check(info.move_last_ns >= clock_before, "last reading %lu before the one taken earlier %lu",
        info.move_last_ns, clock_before);
  Check(info.move_first_ns == info.move_last_ns + info.move_own_ns + info.move_pause_ns,
        "first %lu != last %lu + own %lu + pause %lu", info.move_first_ns, info.move_last_ns,
        info.move_own_ns, info.move_pause_ns);
  Check(clock_after >= info.move_first_ns, "clock %lu after the resume, below its first %lu",
        clock_after, info.move_first_ns);
  // Against the guest's own TSC reads (the mover keeps the TSC without the pause) and the
  // mover's pause: across the hop the clock moved by that real time, within 10 ms.
  if (Check(tsc_khz != 0 && after.tsc > before.tsc, "no TSC rate or TSC across the hop")) {
    const uint64_t real_ns = (after.tsc - before.tsc) * 1'000'000 / tsc_khz + info.move_pause_ns;
    const uint64_t moved_ns = clock_after - clock_before;
    Check(moved_ns <= real_ns + kHopSlackNs && moved_ns + kHopSlackNs >= real_ns,
          "the clock moved %lu ns across the hop, the TSC and the pause say %lu", moved_ns,
          real_ns);
  }

  // The work that spans the hop finishes, and adds up.
  cpu0_own += AddOnThisCpu(1000);
  if (cpu1) {
    (void)WaitUntil(kNsPerSec, [total_at_resume] {
      return __atomic_load_n(&g_count.total, __ATOMIC_ACQUIRE) > total_at_resume + 1000 + 1000;
    });
    __atomic_store_n(&g_count.stop, 1u, __ATOMIC_RELEASE);
    if (Check(WaitForWork(1, kNsPerSec), "cpu 1's work did not finish within 1 s after the hop"))
      Check(g_count.total == cpu0_own + g_count.cpu1_own, "counter %lu, expected %lu + %lu",
            g_count.total, cpu0_own, g_count.cpu1_own);
    Check(g_count.total > total_at_resume + 1000, "cpu 1 added nothing after the hop");
  } else {
    SkipCheck("cpu 1 offline: no work spans the hop on two CPUs");
    Check(g_count.total == cpu0_own, "counter %lu, expected %lu", g_count.total, cpu0_own);
  }

  // The one-shot armed before is due after: it fires once, not before its deadline.
  Check(WaitUntil(kNsPerSec, [] { return __atomic_load_n(&g_timer.hits, __ATOMIC_ACQUIRE) != 0; }),
        "the one-shot armed before the hop did not fire within 1 s after it");
  SpinFor(20 * kNsPerMs);
  Check(g_timer.hits <= 1, "the one-shot fired %u times", g_timer.hits);
  if (g_timer.hits != 0)
    Check(g_timer.last_ns >= deadline, "fired %lu ns before its deadline",
          deadline - g_timer.last_ns);
  Check(pvops_get_counter("timer_arms") > arms_before, "timer_arms %lu, was %lu: no re-arm",
        pvops_get_counter("timer_arms"), arms_before);
  (void)pvops::RegisterHandler(kVectorMoveTimer, nullptr);
  return CheckResult();
}

}  // namespace

Result MoveSelf() {
  if (pvops_move_plan_done() != 0 || SuiteOptions().move)
    return Result::Skip("a mover runs this guest: its hops are the move mode's");
  return Hop(false);
}

Result MoveHop() { return Hop(true); }

}  // namespace guest::suite
