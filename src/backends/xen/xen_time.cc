// SPDX-License-Identifier: MIT
// Time on Xen: each vCPU's vcpu_time_info (the pvclock tuple, read with core/pvclock), the wall
// clock of system time zero in shared_info, the one-shot timer (VCPUOP_set_singleshot_timer,
// delivered on VIRQ_TIMER), and the runstate area Xen keeps per vCPU for steal time.
#include "backends/xen/xen.h"
#include "core/move.h"
#include "core/oneshot.h"
#include "core/pvclock.h"
#include "hw/lapic_timer.h"

namespace pvops::xen {
namespace {

[[nodiscard]] pvops_status ArmSingleshot(uint32_t vcpu, uint64_t deadline_ns) {
  // No VCPU_SSHOTTMR_future: a deadline already past fires at once, as the op promises.
  vcpu_set_singleshot_timer timer{};
  timer.timeout_abs_ns = deadline_ns;
  timer.flags = 0;
  core::Count(core::Counter::kTimerArms);
  return StatusFromXen(
      Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, vcpu, Arg(&timer)));
}

// A consistent copy: Xen rewrites the area at every context switch (and, with the update flag
// assist, marks state_entry_time while it does).
bool ReadRunstate(uint32_t cpu, vcpu_runstate_info* out) {
  const CpuPart* part = Part(cpu);
  if (part == nullptr) return false;
  const Runstate& r = part->runstate;
  if (__atomic_load_n(&r.registered, __ATOMIC_ACQUIRE) == 0) return false;
  const volatile vcpu_runstate_info& live = r.info;
  // state_entry_time is the version word here; XEN_RUNSTATE_UPDATE marks it busy.
  uint64_t entry = 0;
  const bool settled = core::ReadVersioned(
      live.state_entry_time, XEN_RUNSTATE_UPDATE,
      [&] {
        out->state = live.state;
        for (int i = 0; i < 4; ++i) out->time[i] = live.time[i];
      },
      &entry);
  out->state_entry_time = entry;
  return settled;
}

}  // namespace

// One copy for its three readers (the size budget, README.md "Footprint").
[[gnu::noinline]] volatile vcpu_time_info& ThisClock() {
  const PerCpu& c = ThisCpu();
  return VcpuInfo(c.boot_clock != 0 ? 0 : core::ThisCpu())->time;
}

[[nodiscard]] pvops_status CheckClock(uint32_t cpu) {
  const volatile vcpu_time_info& t = VcpuInfo(cpu)->time;
  return core::PvclockTupleUsable(t) ? PVOPS_OK : PVOPS_ERR_BAD_DATA;
}

uint64_t ClockNs() {
  core::Count(core::Counter::kClockReads);
  return core::PvclockRead(&ThisClock());
}

uint64_t TscKhz() { return core::PvclockTscKhz(&ThisClock()); }

[[nodiscard]] pvops_status WallClock(pvops_wall_clock* out) {
  if (out == nullptr) return PVOPS_ERR_INVALID;
  const volatile shared_info* s = g_state.shared;
  uint32_t version = 0, nsec = 0;
  uint64_t sec = 0;
  const bool settled = core::ReadVersioned(
      s->wc_version, 1,
      [&] {
        sec = (uint64_t{s->wc_sec_hi} << 32) | s->wc_sec;
        nsec = s->wc_nsec;
      },
      &version);
  // shared_info holds the wall-clock time at system time zero.
  return core::PvclockWallClock(settled, version, sec, nsec, ClockNs(), out);
}

[[nodiscard]] pvops_status TimerOneshot(uint64_t deadline_ns, uint8_t vector) {
  PerCpu& c = ThisCpu();
  // Events refused on this CPU: HVM's LAPIC timer is its native path; PV has none.
  if (c.ready == 0)
    return IsPv() ? PVOPS_ERR_UNSUPPORTED : hw::LapicTimerOneshot(deadline_ns, vector);
  if (deadline_ns == 0) {
    core::OneshotArmed(0, c.timer_vector);
    return StatusFromXen(
        Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer, c.vcpu_id, 0));
  }
  if (vector < 32) return PVOPS_ERR_INVALID;
  c.timer_vector = vector;
  // Xen fires by its own time (early by design: its timer_slop) and this vCPU's pvclock
  // extrapolation may lag it: the core re-arms an event that comes before clock_ns shows it.
  core::OneshotArmed(deadline_ns, vector);
  return ArmSingleshot(c.vcpu_id, core::BackendTimeNs(deadline_ns));
}

void OnTimerEvent() {
  // VIRQ_TIMER is this CPU's one-shot alone: a stray event (cancelled, or already delivered)
  // runs nothing.
  const uint8_t vector = ThisCpu().timer_vector;
  if (core::OneshotInterrupt(vector) == core::OneshotVerdict::kDue) RunHandler(vector);
}

[[nodiscard]] pvops_status RegisterRunstate(uint32_t cpu) {
  CpuPart* part = Part(cpu);
  if (cpu >= kMaxCpus || part == nullptr) return PVOPS_ERR_INVALID;
  Runstate& r = part->runstate;
  vcpu_register_runstate_memory_area area{};
  area.addr.v = &r.info;
  const int64_t rc = Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area,
                               part->cpu.vcpu_id, Arg(&area));
  if (rc != 0) return StatusFromXen(rc);
  __atomic_store_n(&r.registered, 1u, __ATOMIC_RELEASE);
  return PVOPS_OK;
}

uint64_t StealNs(uint32_t cpu) {
  vcpu_runstate_info info;
  if (!ReadRunstate(cpu, &info)) return 0;
  // Runnable but not running, or taken offline by Xen: time this vCPU wanted and did not get.
  return info.time[RUNSTATE_runnable] + info.time[RUNSTATE_offline];
}

int VcpuIsPreempted(uint32_t cpu) {
  vcpu_runstate_info info;
  if (!ReadRunstate(cpu, &info)) return 0;
  return info.state == RUNSTATE_runnable ? 1 : 0;
}

// Init runs before other CPUs have their areas: the boot CPU's runstate is the only one.
void ResetTime() { Part(0)->runstate.registered = 0; }

}  // namespace pvops::xen
