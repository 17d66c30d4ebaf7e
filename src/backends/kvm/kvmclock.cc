// SPDX-License-Identifier: MIT
// kvmclock: the pvclock tuple KVM keeps per vCPU, and the wall clock at system time zero.
#include "backends/kvm/kvm.h"
#include "core/backend.h"
#include "core/pvclock.h"

namespace pvops::kvm {
namespace {

WallClockRecord g_wall_clock;

}  // namespace

[[nodiscard]] PVOPS_BOOT_CODE pvops_status EnableClockOn(uint32_t cpu, CpuPart& part) {
  // Until KVM has filled it, this CPU reads the boot CPU's tuple (the boot CPU always does).
  part.clock_registered = 0;
  volatile vcpu_time_info& t = cpu == 0 ? g_boot_clock.clock : part.clock;
  // Whatever the memory held (a previous boot, a kexec) must not pass for KVM's answer.
  t.version = 0;
  t.tsc_to_system_mul = 0;
  const uint64_t pa = core::VirtToPhys(const_cast<vcpu_time_info*>(&t));
  if (!arch::wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, pa | KVM_MSR_ENABLED)) return PVOPS_ERR_FAULT;
  if (!core::PvclockTupleUsable(t)) return PVOPS_ERR_BAD_DATA;
  part.clock_registered = cpu != 0;
  return PVOPS_OK;
}

uint64_t ClockNs() {
  core::Count(core::Counter::kClockReads);
  return core::PvclockRead(&ThisClock());
}

uint64_t TscKhz() { return core::PvclockTscKhz(&ThisClock()); }

[[nodiscard]] PVOPS_BOOT_CODE pvops_status UserClock(pvops_user_clock* out) {
  if (!Enabled(KVM_FEATURE_CLOCKSOURCE2)) return PVOPS_ERR_UNSUPPORTED;  // withheld or refused
  const volatile vcpu_time_info& t = *Clock(0);
  // KVM may be rewriting CPU 0's tuple right now (an odd version): a bounded wait for it.
  bool filled = false;
  uint8_t flags = 0;
  const bool settled = core::ReadVersioned(t.version, 1, [&] {
    filled = core::PvclockTupleLooksFilled(t);
    flags = t.flags;
  });
  if (!settled) return PVOPS_ERR_BUSY;
  if (!filled) return PVOPS_ERR_BAD_DATA;
  out->kind = PVOPS_USER_CLOCK_PVCLOCK;
  out->stable = (flags & XEN_PVCLOCK_TSC_STABLE_BIT) != 0 ? 1 : 0;
  out->page = const_cast<const vcpu_time_info*>(&t);
  out->page_phys = core::VirtToPhys(const_cast<vcpu_time_info*>(&t));
  return PVOPS_OK;
}

[[nodiscard]] PVOPS_BOOT_CODE pvops_status WallClock(pvops_wall_clock* out) {
  // KVM writes the wall-clock time of system time zero on each MSR write.
  const uint64_t pa = core::VirtToPhys(&g_wall_clock);
  if (!arch::wrmsr_safe(MSR_KVM_WALL_CLOCK_NEW, pa)) return PVOPS_ERR_FAULT;
  const volatile WallClockRecord& wc = g_wall_clock;
  uint32_t version = 0, sec = 0, nsec = 0;
  const bool settled = core::ReadVersioned(
      wc.version, 1,
      [&] {
        sec = wc.sec;
        nsec = wc.nsec;
      },
      &version);
  return core::PvclockWallClock(settled, version, sec, nsec, ClockNs(), out);
}

}  // namespace pvops::kvm
