// SPDX-License-Identifier: MIT
#include "backends/hyperv/hv_apic.h"

#include "arch/x86/arch.h"
#include "arch/x86/registers.h"
#include "backends/hyperv/hyperv.h"
#include "core/cpu_area.h"
#include "core/runtime.h"
#include "hw/lapic.h"

namespace pvops::hyperv {
namespace {

constexpr uint8_t kFirstExternalVector = 32;
constexpr uint32_t kXapicDestinationShift = 56;   // ICR bits 63:56 in xAPIC mode
constexpr uint32_t kX2apicDestinationShift = 32;  // ICR bits 63:32 in x2APIC mode

}  // namespace

volatile uint32_t* ApicAssistWord(uint32_t cpu) {
  CpuPages* pages = Pages(cpu);
  return pages != nullptr ? &pages->vp_assist.apic_assist : nullptr;
}

[[nodiscard]] pvops_status EnableVpAssistOn(uint32_t cpu) {
  CpuPart* c = Part(cpu);
  CpuPages* pages = Pages(cpu);
  if (c == nullptr || pages == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  c->vp_assist_enabled = 0;
  const uint64_t gpa = core::VirtToPhys(&pages->vp_assist);
  if (gpa % X86_PAGE_SIZE != 0) return PVOPS_ERR_BAD_DATA;
  __atomic_store_n(&pages->vp_assist.apic_assist, 0, __ATOMIC_RELAXED);
  if (!arch::wrmsr_safe(kMsrVpAssistPage, gpa | kMsrPageEnable)) return PVOPS_ERR_FAULT;
  c->vp_assist_enabled = 1;
  return PVOPS_OK;
}

void WriteTpr(uint8_t priority) { arch::wrmsr(kMsrTpr, priority); }
uint8_t ReadTpr() { return static_cast<uint8_t>(arch::rdmsr(kMsrTpr)); }
uint64_t ReadTprClass() { return ReadTpr() >> 4; }
[[nodiscard]] pvops_status WriteTprClass(uint64_t priority_class) {
  if (priority_class > 15) return PVOPS_ERR_INVALID;
  WriteTpr(static_cast<uint8_t>(priority_class << 4));
  return PVOPS_OK;
}

[[nodiscard]] pvops_status SetUpLapicOn(uint32_t cpu) {
  core::PerCpu* record = core::CpuRecord(cpu);
  if (record == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  hw::Lapic apic;
  if (const pvops_status st = hw::Lapic::Resolve(&apic); st != PVOPS_OK) return st;
  record->apic_id = apic.Id();
  if (core::KernelOwnsApic()) return PVOPS_OK;
  // Accept every priority class. The boot CPU's write was tried at init; another CPU may still
  // refuse it, and then its LAPIC set-up fails rather than the CPU faulting.
  if (!arch::wrmsr_safe(kMsrTpr, 0)) return PVOPS_ERR_FAULT;
  const uint32_t spurious = apic.Read(hw::ApicReg::kSpurious);
  apic.Write(hw::ApicReg::kSpurious,
             (spurious & ~0xffu) | hw::kSpuriousApicEnable | core::kVectorSpurious);
  return PVOPS_OK;
}

void Eoi() {
  if (ThisPart().vp_assist_enabled != 0) {
    uint32_t* word = &ThisPages().vp_assist.apic_assist;
    // Set by the hypervisor when it injected an interrupt whose EOI it completes itself;
    // clearing the bit is then the whole EOI.
    if ((__atomic_fetch_and(word, ~kApicAssistNoEoiRequired, __ATOMIC_SEQ_CST) &
         kApicAssistNoEoiRequired) != 0) {
      core::Count(core::Counter::kPvEoiFast);
      return;
    }
    core::Count(core::Counter::kPvEoiSlow);
  }
  arch::wrmsr(kMsrEoi, 0);
}

[[nodiscard]] pvops_status SendIpiByIcrMsr(const pvops_cpuset* cpus, uint8_t vector) {
  if (cpus == nullptr || vector < kFirstExternalVector) return PVOPS_ERR_INVALID;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu)
    if (pvops_cpuset_has(cpus, cpu) && core::Cpu(cpu).online == 0) return PVOPS_ERR_INVALID;
  hw::Lapic apic;
  if (const pvops_status st = hw::Lapic::Get(&apic); st != PVOPS_OK) return st;
  // The synthetic ICR keeps the APIC mode's own destination format.
  const uint32_t shift = apic.x2apic() ? kX2apicDestinationShift : kXapicDestinationShift;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    const uint32_t id = core::Cpu(cpu).apic_id;
    if (!apic.x2apic() && id > hw::kXapicMaxDestination) return PVOPS_ERR_INVALID;
    // Earlier stores must be visible before the target runs its handler.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    arch::wrmsr(kMsrIcr, uint64_t{id} << shift | hw::kIcrDeliveryFixed | vector);
    core::Count(core::Counter::kIpisSent);
  }
  return PVOPS_OK;
}

}  // namespace pvops::hyperv
