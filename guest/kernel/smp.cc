// SPDX-License-Identifier: MIT
#include "kernel/smp.h"

#include <stddef.h>

#include "arch/x86/registers.h"
#include "kernel/console.h"
#include "kernel/cpu_tables.h"
#include "kernel/deadline.h"
#include "kernel/layout.h"
#include "kernel/percpu.h"

extern "C" const char ap_trampoline_start[];
extern "C" const char ap_trampoline_end[];
extern "C" const char ap_trampoline_gdt[];
extern "C" const char ap_trampoline_long_mode[];
extern "C" const char ap_trampoline_params[];

namespace guest {
namespace {

// Mirrors the parameter block at the end of ap_trampoline.S.
struct [[gnu::packed]] ApTrampolineParams {
  uint16_t gdt_limit;
  uint32_t gdt_base;
  uint16_t pad0;
  uint32_t far_offset;
  uint16_t far_selector;
  uint16_t pad1;
  uint64_t cr3;
  uint64_t efer;
  uint64_t stack_top;
  uint64_t entry;
  uint32_t cpu;
  uint32_t pad2;
};
static_assert(offsetof(ApTrampolineParams, far_offset) == 8);
static_assert(offsetof(ApTrampolineParams, cr3) == 16);
static_assert(offsetof(ApTrampolineParams, cpu) == 48);

struct alignas(64) Mailbox {
  Work work;
  void* arg;
  uint32_t posted;  // bumped by the poster (release) after work/arg
  uint32_t done;    // set to `posted` by the CPU (release) after work returned
};

uint32_t g_expected_cpus = 1;
CpuBringup g_bringup[kMaxCpus];
uint32_t g_checked_in[kMaxCpus];
Mailbox g_mailboxes[kMaxCpus];

uint64_t TrampolineOffset(const char* symbol) {
  return static_cast<uint64_t>(symbol - ap_trampoline_start);
}

ApTrampolineParams* InstallTrampoline() {
  auto* page = static_cast<char*>(PhysToVirt(kApTrampolinePhys));
  const uint64_t bytes = TrampolineOffset(ap_trampoline_end);
  for (uint64_t i = 0; i < bytes; ++i) page[i] = ap_trampoline_start[i];
  auto* params =
      reinterpret_cast<ApTrampolineParams*>(page + TrampolineOffset(ap_trampoline_params));
  params->gdt_base = static_cast<uint32_t>(kApTrampolinePhys + TrampolineOffset(ap_trampoline_gdt));
  params->far_offset =
      static_cast<uint32_t>(kApTrampolinePhys + TrampolineOffset(ap_trampoline_long_mode));
  return params;
}

[[noreturn]] void IdleLoop(uint32_t cpu) {
  Mailbox& box = g_mailboxes[cpu];
  for (;;) {
    const uint32_t posted = __atomic_load_n(&box.posted, __ATOMIC_ACQUIRE);
    if (posted != box.done) {
      box.work(box.arg);
      __atomic_store_n(&box.done, posted, __ATOMIC_RELEASE);
    }
    CpuRelax();
  }
}

}  // namespace

}  // namespace guest

// Where every AP arrives from the trampoline (or from the vCPU context a hypervisor built),
// on its own stack, interrupts off.
extern "C" [[noreturn]] void ap_main(uint32_t cpu) {
  using namespace guest;
  // Tables first: they touch no pvops state, and a fault in pvops_cpu_online is then reported
  // instead of triple-faulting the machine.
  LoadCpuTables(cpu);
  g_bringup[cpu].online_status = pvops_cpu_online(cpu);
  __atomic_store_n(&g_checked_in[cpu], 1u, __ATOMIC_RELEASE);
  pvops::IrqEnable();
  IdleLoop(cpu);
}

namespace guest {

void StartSecondaryCpus(uint32_t expected) {
  g_expected_cpus = expected;
  if (expected <= 1) return;
  const uint64_t cr3 = pvops::ReadCr3();
  if (cr3 >= (uint64_t{1} << 32)) {
    Print("# smp: CR3 0x%lx is above 4 GiB; the real-mode trampoline cannot load it\n", cr3);
    for (uint32_t cpu = 1; cpu < expected; ++cpu) g_bringup[cpu].start_status = PVOPS_ERR_INVALID;
    return;
  }
  // A backend that starts CPUs itself builds their register context: no trampoline (and no
  // EFER to read, which may be privileged there).
  const bool backend_starts_cpus = (pvops::Info().paravirt & PVOPS_PV_CPU_START) != 0;
  ApTrampolineParams* params = backend_starts_cpus ? nullptr : InstallTrampoline();
  for (uint32_t cpu = 1; cpu < expected; ++cpu) {
    // The library's per-CPU state for this CPU, before it can run pvops_cpu_online.
    g_bringup[cpu].area_status = pvops_set_cpu_area(cpu, CpuArea(cpu));
    if (g_bringup[cpu].area_status != PVOPS_OK) continue;
    PrepareCpuStacks(cpu);
    const uint64_t stack_top = StackTop(cpu_stacks[cpu]);
    if (params != nullptr) {
      params->cr3 = cr3;
      params->efer = pvops::ReadMsr(X86_MSR_IA32_EFER);
      params->stack_top = stack_top;
      params->entry = reinterpret_cast<uint64_t>(&ap_main);
      params->cpu = cpu;
      // The AP reads the block with plain loads after its SIPI; the backend's ICR write orders it.
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }

    const pvops_cpu_start start{kApTrampolinePhys, &ap_main, stack_top, cr3};
    const uint64_t started_ns = pvops::ClockNs();
    g_bringup[cpu].start_status = pvops::StartCpu(cpu, cpu, start).code();
    if (g_bringup[cpu].start_status != PVOPS_OK) continue;
    // One at a time: the trampoline's parameter block is shared.
    g_bringup[cpu].checked_in = WaitUntil(kCpuCheckinTimeoutNs, [cpu] {
      return __atomic_load_n(&g_checked_in[cpu], __ATOMIC_ACQUIRE) != 0;
    });
    g_bringup[cpu].checkin_ns = pvops::ClockNs() - started_ns;
    if (!g_bringup[cpu].checked_in) {
      Print("# smp: cpu %u did not check in within 2 s; no further CPUs started\n", cpu);
      return;  // a late AP would read the next CPU's parameters
    }
  }
}

const CpuBringup& BringupOf(uint32_t cpu) { return g_bringup[cpu < kMaxCpus ? cpu : 0]; }
uint32_t ExpectedCpus() { return g_expected_cpus; }

bool CpuOnline(uint32_t cpu) {
  if (cpu == 0) return true;
  return cpu < kMaxCpus && __atomic_load_n(&g_checked_in[cpu], __ATOMIC_ACQUIRE) != 0 &&
         g_bringup[cpu].online_status == PVOPS_OK;
}

uint32_t OnlineCpus() {
  uint32_t n = 0;
  for (uint32_t cpu = 0; cpu < kMaxCpus; ++cpu) n += CpuOnline(cpu);
  return n;
}

bool CpuIdle(uint32_t cpu) {
  const Mailbox& box = g_mailboxes[cpu];
  return __atomic_load_n(&box.done, __ATOMIC_ACQUIRE) ==
         __atomic_load_n(&box.posted, __ATOMIC_RELAXED);
}

bool PostWork(uint32_t cpu, Work work, void* arg) {
  if (cpu == 0 || !CpuOnline(cpu) || !CpuIdle(cpu)) return false;
  Mailbox& box = g_mailboxes[cpu];
  box.work = work;
  box.arg = arg;
  __atomic_store_n(&box.posted, box.posted + 1, __ATOMIC_RELEASE);
  return true;
}

bool WaitForWork(uint32_t cpu, uint64_t timeout_ns) {
  return WaitUntil(timeout_ns, [cpu] { return CpuIdle(cpu); });
}

}  // namespace guest
