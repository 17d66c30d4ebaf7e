// SPDX-License-Identifier: MIT
// PV spinlocks on Xen: a waiter sleeps in SCHEDOP_poll on its own kick port (masked, so the
// kick raises no upcall, only ends the poll), and the unlocker wakes it with EVTCHNOP_send.
// Clearing the pending bit before the re-check means a kick that lands in between is seen by
// the poll, which returns at once: no lost wake-up (Linux's xen_qlock_wait).

#include "backends/xen/xen.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/sched.h>

namespace pvops::xen {
namespace {

// The caller re-checks after every return; the bound only keeps a lost kick from parking a
// vCPU for good.
constexpr uint64_t kPollTimeoutNs = 100'000'000;

}  // namespace

void LockWait(const volatile uint8_t* ptr, uint8_t value) {
  core::Count(core::Counter::kLockWaits);
  evtchn_port_t port = ThisCpu().kick_port;
  if (port == 0) {
    arch::pause();
    return;
  }
  ClearPending(port);  // a locked RMW: it orders the read below after it
  if (*ptr != value) return;
  sched_poll poll{};
  set_xen_guest_handle(poll.ports, &port);
  poll.nr_ports = 1;
  poll.timeout = ClockNs() + kPollTimeoutNs;
  (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, Arg(&poll));
}

void LockKick(uint32_t cpu) {
  const CpuPart* part = Part(cpu);
  if (cpu >= kMaxCpus || part == nullptr || part->cpu.ready == 0 || part->cpu.kick_port == 0)
    return;
  core::Count(core::Counter::kLockKicks);
  (void)SendEvent(part->cpu.kick_port);
}

}  // namespace pvops::xen
