// SPDX-License-Identifier: MIT
// cpu.*: CPUID, MSR access (plain and fault-safe), io_delay and safe_halt through the table.
#include <pvops/pvops.hpp>

#include "arch/x86/registers.h"
#include "kernel/deadline.h"
#include "kernel/format.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "suite/cases.h"
#include "suite/test_vectors.h"

namespace guest::suite {
namespace {

constexpr uint32_t kMsrPkrs = 0x6e1;
constexpr uint64_t kPkrsReservedBit = uint64_t{1} << 32;
constexpr uint64_t kDefaultApicBase = 0xfee00000;
// An MSR no CPU or hypervisor implements: the top of KVM's paravirtual range (0x4b564d00..)
// is unused by KVM itself and outside every architectural and vendor range.
constexpr uint32_t kAbsentMsr = 0x4b564dff;

bool Printable(char c) { return c >= 0x20 && c < 0x7f; }

// State shared with interrupt handlers and the watchdog CPU: static, never on a stack a
// timed-out case would abandon.
struct SafeHaltState {
  uint32_t timer_fired;
  uint64_t timer_fired_ns;
  uint32_t in_halt;  // CPU 0 is inside safe_halt: set just before it, cleared when it returns
  uint32_t watchdog_fired;
  uint32_t watchdog_in_halt;  // the watchdog's IPI found CPU 0 inside safe_halt
  uint64_t watchdog_fired_ns;
  uint32_t halt_done;
};
SafeHaltState g_safe_halt;

void OnSafeHaltTimer(uint8_t, void*) {
  g_safe_halt.timer_fired_ns = pvops::ClockNs();
  __atomic_store_n(&g_safe_halt.timer_fired, 1u, __ATOMIC_RELEASE);
}
void OnSafeHaltWatchdog(uint8_t, void*) {
  g_safe_halt.watchdog_fired_ns = pvops::ClockNs();
  g_safe_halt.watchdog_in_halt = __atomic_load_n(&g_safe_halt.in_halt, __ATOMIC_RELAXED);
  __atomic_store_n(&g_safe_halt.watchdog_fired, 1u, __ATOMIC_RELEASE);
}

// Runs on CPU 1: if the boot CPU is still halted after 1 s, wake it with an IPI so a broken
// timer fails the case instead of hanging the run.
void SafeHaltWatchdog(void*) {
  const bool done = WaitUntil(
      kNsPerSec, [] { return __atomic_load_n(&g_safe_halt.halt_done, __ATOMIC_ACQUIRE) != 0; });
  if (done) return;
  (void)pvops::SendIpi(pvops::CpuSet::Only(0), kVectorSafeHaltWatchdog);
}

}  // namespace

Result CpuCpuid() {
  const pvops_cpuid_regs leaf0 = pvops::Cpuid(0);
  char vendor[13];
  const uint32_t words[3] = {leaf0.ebx, leaf0.edx, leaf0.ecx};
  for (int w = 0; w < 3; ++w)
    for (int b = 0; b < 4; ++b) vendor[w * 4 + b] = static_cast<char>(words[w] >> (8 * b));
  vendor[12] = '\0';
  int unprintable = 0;
  while (unprintable < 12 && Printable(vendor[unprintable])) ++unprintable;
  Check(unprintable == 12, "vendor byte %d is 0x%x", unprintable, vendor[unprintable] & 0xff);
  if (!Check(leaf0.eax >= 1, "max basic leaf %u, leaf 1 missing", leaf0.eax)) return CheckResult();

  const pvops_cpuid_regs leaf1 = pvops::Cpuid(1);
  uint32_t family = (leaf1.eax >> 8) & 0xf;
  uint32_t model = (leaf1.eax >> 4) & 0xf;
  if (family == 0xf) family += (leaf1.eax >> 20) & 0xff;
  if (family >= 6) model |= ((leaf1.eax >> 16) & 0xf) << 4;
  Note("vendor \"%s\" max leaf 0x%x family 0x%x model 0x%x ecx 0x%08x edx 0x%08x", vendor,
       leaf0.eax, family, model, leaf1.ecx, leaf1.edx);
  Check(family >= 5, "family 0x%x: not a 64-bit x86", family);
  // The suite itself relies on these two: rdtsc in the time cases, MSRs through the table.
  Check((leaf1.edx & (1u << 4)) != 0, "CPUID.1:EDX.TSC[4] clear");
  Check((leaf1.edx & (1u << 5)) != 0, "CPUID.1:EDX.MSR[5] clear");
  const bool hypervisor_bit = (leaf1.ecx & (1u << 31)) != 0;
  Check(pvops::ChosenBackend() == pvops::Backend::kNative || hypervisor_bit,
        "backend is not native but CPUID.1:ECX.HYPERVISOR[31] is clear");
  return CheckResult();
}

Result CpuMsr() {
  // EFER says what the CPU is doing right now: this kernel runs in long mode with paging.
  const uint64_t efer = pvops::ReadMsr(X86_MSR_IA32_EFER);
  Note("IA32_EFER = 0x%lx", efer);
  Check((efer & X86_EFER_LME) != 0 && (efer & X86_EFER_LMA) != 0,
        "IA32_EFER 0x%lx: LME/LMA clear while running in long mode", efer);
  // A Xen PV guest has no local APIC of its own to describe.
  if (pvops::Info().entry == PVOPS_ENTRY_XEN_PV) return CheckResult();
  const uint64_t apic_base = pvops::ReadMsr(X86_MSR_IA32_APIC_BASE);
  Note("IA32_APIC_BASE = 0x%lx", apic_base);
  Check((apic_base & X86_APIC_BASE_BSP) != 0, "IA32_APIC_BASE 0x%lx: BSP bit clear on the boot CPU",
        apic_base);
  Check((apic_base & X86_APIC_BASE_ADDRESS_MASK) == kDefaultApicBase,
        "IA32_APIC_BASE 0x%lx: base is not 0xfee00000", apic_base);
  return CheckResult();
}

Result CpuMsrSafe() {
  // The access that must fault everywhere: IA32_PKRS with reserved bits 63:32 set. Where PKS
  // is absent the MSR is absent (#GP); where present the reserved bits fault (#GP). QEMU's TCG
  // models exactly this one, while it reads every unknown MSR as 0 without a fault.
  const pvops::Status faulting = pvops::WriteMsrSafe(kMsrPkrs, kPkrsReservedBit);
  Check(faulting.code() == PVOPS_ERR_FAULT, "wrmsr 0x%x <- 0x%lx gave %s, expected fault", kMsrPkrs,
        kPkrsReservedBit, faulting.name());
  // A read of an MSR absent everywhere: architecturally a #GP. Reported, not asserted, because
  // TCG answers 0 (see above).
  uint64_t absent_value = 0;
  const pvops::Status absent = pvops::ReadMsrSafe(kAbsentMsr, &absent_value);
  Note("rdmsr 0x%x (absent) gave %s, value 0x%lx%s", kAbsentMsr, absent.name(), absent_value,
       absent.ok() ? " (the platform does not fault unknown MSRs)" : "");
  Check(absent.ok() || absent.code() == PVOPS_ERR_FAULT,
        "rdmsr 0x%x gave %s: neither a value nor a fault", kAbsentMsr, absent.name());
  // After the fault(s), a present MSR still reads fine through the same accessor.
  uint64_t efer = 0;
  const pvops::Status present = pvops::ReadMsrSafe(X86_MSR_IA32_EFER, &efer);
  if (!Check(present.ok(), "rdmsr_safe(IA32_EFER) gave %s", present.name())) return CheckResult();
  Check((efer & X86_EFER_LMA) != 0, "rdmsr_safe(IA32_EFER) = 0x%lx: LMA clear", efer);
  return CheckResult();
}

Result CpuIoDelay() {
  constexpr uint32_t kCalls = 100;
  for (int interrupts_on = 0; interrupts_on < 2; ++interrupts_on) {
    if (interrupts_on)
      pvops::IrqEnable();
    else
      pvops::IrqDisable();
    // Each call timed alone: a host that stops the vCPU for a while stretches a few calls,
    // while an io_delay that is broken is slow every time.
    uint32_t slow = 0;
    uint64_t longest = 0;
    const uint64_t start = pvops::ClockNs();
    for (uint32_t i = 0; i < kCalls; ++i) {
      const uint64_t before = pvops::ClockNs();
      pvops::IoDelay();
      const uint64_t took = pvops::ClockNs() - before;
      if (took > longest) longest = took;
      if (took > kNsPerMs) ++slow;
    }
    const uint64_t elapsed = pvops::ClockNs() - start;
    const bool still = pvops::IrqsEnabled();
    pvops::IrqEnable();
    Check(still == (interrupts_on != 0), "io_delay changed the interrupt flag (was %s)",
          interrupts_on ? "on" : "off");
    // A port-0x80 write costs microseconds even under TCG; 1 ms each is broken: most calls
    // must take less.
    Check(slow <= kCalls / 2, "%u of %u io_delay calls took over 1 ms (%lu us in all)", slow,
          kCalls, elapsed / kNsPerUs);
    if (slow != 0)
      Note("io_delay: %u of %u calls over 1 ms, the longest %lu us", slow, kCalls,
           longest / kNsPerUs);
    if (interrupts_on) Note("io_delay: %lu ns per call", elapsed / kCalls);
  }
  return CheckResult();
}

Result CpuSafeHalt() {
  g_safe_halt = SafeHaltState{};
  if (!pvops::RegisterHandler(kVectorSafeHaltWake, OnSafeHaltTimer).ok() ||
      !pvops::RegisterHandler(kVectorSafeHaltWatchdog, OnSafeHaltWatchdog).ok())
    return Result::Fail("register_handler refused vectors 0x%x/0x%x", kVectorSafeHaltWake,
                        kVectorSafeHaltWatchdog);
  const bool watchdog = CpuOnline(1) && PostWork(1, SafeHaltWatchdog, nullptr);
  if (!watchdog) Note("no second CPU for a watchdog: a timer that never fires hangs this case");

  constexpr uint64_t kWakeAfterNs = 5 * kNsPerMs;
  const uint64_t arms_before = pvops_get_counter("timer_arms");
  const uint64_t upcalls_before = pvops_get_counter("event_upcalls");
  pvops::IrqDisable();
  const uint64_t deadline_ns = pvops::ClockNs() + kWakeAfterNs;
  const pvops::Status armed = pvops::TimerOneshot(deadline_ns, kVectorSafeHaltWake);
  bool if_after_halt = true;
  uint32_t halts = 0;
  uint64_t last_halt_end_ns = 0;  // on this CPU's clock, as the handlers' stamps are
  if (armed.ok()) {
    Deadline limit(kNsPerSec);
    // hlt resumes only for an interrupt; loop anyway so a stray wake-up is not misread.
    while (__atomic_load_n(&g_safe_halt.timer_fired, __ATOMIC_ACQUIRE) == 0 &&
           __atomic_load_n(&g_safe_halt.watchdog_fired, __ATOMIC_ACQUIRE) == 0 &&
           !limit.Expired()) {
      __atomic_store_n(&g_safe_halt.in_halt, 1u, __ATOMIC_RELAXED);
      pvops::SafeHalt();
      __atomic_store_n(&g_safe_halt.in_halt, 0u, __ATOMIC_RELAXED);
      last_halt_end_ns = pvops::ClockNs();
      ++halts;
      if_after_halt = if_after_halt && pvops::IrqsEnabled();
      pvops::IrqDisable();
    }
  }
  __atomic_store_n(&g_safe_halt.halt_done, 1u, __ATOMIC_RELEASE);
  pvops::IrqEnable();
  if (watchdog && !WaitForWork(1, 2 * kNsPerSec))
    return Result::Fail("watchdog CPU 1 did not finish");
  (void)pvops::TimerOneshot(0, kVectorSafeHaltWake);
  (void)pvops::RegisterHandler(kVectorSafeHaltWake, nullptr);
  (void)pvops::RegisterHandler(kVectorSafeHaltWatchdog, nullptr);

  if (!armed.ok()) return Result::Fail("timer_oneshot returned %s", armed.name());
  const uint64_t arms = pvops_get_counter("timer_arms") - arms_before;
  const uint64_t upcalls = pvops_get_counter("event_upcalls") - upcalls_before;
  // The watchdog woke the halt if its IPI found CPU 0 still inside safe_halt, whatever ran
  // before: a timer interrupt taken before the HLT itself (a platform that loses the STI
  // shadow) leaves the CPU halted with nothing to wake it. An IPI handled after safe_halt
  // returned only says CPU 0 was slow (a host can stop a vCPU for a second) to report the end.
  const bool woken_by_watchdog = g_safe_halt.watchdog_fired && g_safe_halt.watchdog_in_halt;
  char timer_text[48] = "timer not fired";
  if (g_safe_halt.timer_fired)
    (void)Format(timer_text, sizeof(timer_text), "timer fired at +%ld us",
                 static_cast<int64_t>(g_safe_halt.timer_fired_ns - deadline_ns) / 1000);
  if (g_safe_halt.watchdog_fired && !woken_by_watchdog)
    Note("safe_halt: the watchdog IPI at +%ld us came after the halt had returned (its end read "
         "at +%ld us, %s)",
         static_cast<int64_t>(g_safe_halt.watchdog_fired_ns - deadline_ns) / 1000,
         static_cast<int64_t>(last_halt_end_ns - deadline_ns) / 1000, timer_text);
  // Independent: whether interrupts came back on. The timer's own checks mean something only
  // when the timer, not the watchdog, ended the halt, and its timing only when it fired.
  Check(if_after_halt, "interrupts were off after safe_halt returned");
  if (!Check(!woken_by_watchdog,
             "still halted 1 s after a 5 ms timer: the watchdog IPI woke it (watchdog at +%ld us, "
             "%s, last halt returned at +%ld us, %u halt(s), %lu arm(s), %lu upcall(s))",
             static_cast<int64_t>(g_safe_halt.watchdog_fired_ns - deadline_ns) / 1000, timer_text,
             static_cast<int64_t>(last_halt_end_ns - deadline_ns) / 1000, halts, arms, upcalls))
    return CheckResult();
  if (!Check(g_safe_halt.timer_fired != 0, "the 5 ms timer did not fire within 1 s"))
    return CheckResult();
  const uint64_t fired_ns = g_safe_halt.timer_fired_ns;
  if (!Check(fired_ns >= deadline_ns, "woken %lu us before the deadline",
             fired_ns < deadline_ns ? (deadline_ns - fired_ns) / kNsPerUs : 0))
    return CheckResult();
  Note("safe_halt: woken by the timer %lu us after its deadline, %u halt(s), %lu arm(s), "
       "%lu upcall(s)",
       (g_safe_halt.timer_fired_ns - deadline_ns) / kNsPerUs, halts,
       pvops_get_counter("timer_arms") - arms_before,
       pvops_get_counter("event_upcalls") - upcalls_before);
  return CheckResult();
}

}  // namespace guest::suite
