// SPDX-License-Identifier: MIT
// The local APIC in either mode, and the ops built on it: EOI, fixed IPIs, per-CPU set-up.
#include "hw/lapic.h"

#include "arch/x86/arch.h"
#include "core/backend.h"  // PVOPS_BOOT_CODE
#include "core/runtime.h"
#include "hw/bounded_wait.h"

namespace pvops::hw {
namespace {

// What Resolve() found, in one word so every CPU reads it whole: 0 = not resolved yet,
// kX2apicMode, or the address of the xAPIC page.
constexpr uintptr_t kX2apicMode = 1;
uintptr_t g_lapic_mode;

}  // namespace

[[nodiscard]] pvops_status Lapic::Resolve(Lapic* out) {
  uint64_t base;
  if (!arch::rdmsr_safe(X86_MSR_IA32_APIC_BASE, &base)) return PVOPS_ERR_UNSUPPORTED;  // no APIC
  if ((base & X86_APIC_BASE_GLOBAL_ENABLE) == 0) return PVOPS_ERR_UNSUPPORTED;
  uintptr_t mode = kX2apicMode;
  if ((base & X86_APIC_BASE_X2APIC_ENABLE) == 0) {
    mode = reinterpret_cast<uintptr_t>(core::PhysToVirt(base & X86_APIC_BASE_ADDRESS_MASK));
    if (mode == 0 || mode == kX2apicMode) return PVOPS_ERR_UNSUPPORTED;  // page not mapped
  }
  __atomic_store_n(&g_lapic_mode, mode, __ATOMIC_RELEASE);
  out->mmio_ = mode == kX2apicMode ? nullptr : reinterpret_cast<volatile uint32_t*>(mode);
  return PVOPS_OK;
}

[[nodiscard]] pvops_status Lapic::Get(Lapic* out) {
  const uintptr_t mode = __atomic_load_n(&g_lapic_mode, __ATOMIC_ACQUIRE);
  if (mode == 0) return Resolve(out);
  out->mmio_ = mode == kX2apicMode ? nullptr : reinterpret_cast<volatile uint32_t*>(mode);
  return PVOPS_OK;
}

void Lapic::Forget() { __atomic_store_n(&g_lapic_mode, 0, __ATOMIC_RELEASE); }

uint32_t Lapic::Read(ApicReg reg) const {
  if (x2apic()) return static_cast<uint32_t>(arch::rdmsr(X2apicMsr(reg)));
  return arch::mmio_read32(mmio_ + static_cast<uint32_t>(reg) / 4);
}

void Lapic::Write(ApicReg reg, uint32_t value) const {
  if (x2apic()) {
    arch::wrmsr(X2apicMsr(reg), value);
  } else {
    arch::mmio_write32(mmio_ + static_cast<uint32_t>(reg) / 4, value);
  }
}

// xAPIC keeps the ID in bits 31:24; x2APIC uses the whole register.
uint32_t Lapic::Id() const { return x2apic() ? Read(ApicReg::kId) : Read(ApicReg::kId) >> 24; }

void Lapic::Eoi() const { Write(ApicReg::kEoi, 0); }

volatile uint32_t* Lapic::EoiRegister() const {
  return x2apic() ? nullptr : mmio_ + static_cast<uint32_t>(ApicReg::kEoi) / 4;
}

[[nodiscard]] pvops_status Lapic::WaitIcrIdle() const {
  if (x2apic() || (Read(ApicReg::kIcrLow) & kIcrDeliveryPending) == 0) return PVOPS_OK;
  const Deadline give_up(kIcrIdleTimeoutNs);
  while ((Read(ApicReg::kIcrLow) & kIcrDeliveryPending) != 0) {
    if (give_up.Expired()) return PVOPS_ERR_TIMEOUT;
    arch::pause();
  }
  return PVOPS_OK;
}

[[nodiscard]] pvops_status Lapic::SendIpi(uint32_t apic_id, uint32_t icr_low) const {
  if (x2apic()) {
    // x2APIC MSR writes are not serializing: make earlier stores visible before the IPI lands.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    arch::wrmsr(X2apicMsr(ApicReg::kIcrLow), uint64_t{apic_id} << 32 | icr_low);
    return PVOPS_OK;
  }
  if (apic_id > kXapicMaxDestination) return PVOPS_ERR_INVALID;
  // The two ICR halves must not interleave with an interrupt handler's IPI on this CPU.
  const uint64_t flags = arch::save_flags();
  arch::cli();
  pvops_status st = WaitIcrIdle();
  if (st == PVOPS_OK) {
    Write(ApicReg::kIcrHigh, apic_id << 24);
    Write(ApicReg::kIcrLow, icr_low);  // this write sends
  }
  arch::restore_flags(flags);
  return st;
}

void LapicEoi() {
  Lapic apic;
  if (Lapic::Get(&apic) == PVOPS_OK) apic.Eoi();
}

[[nodiscard]] pvops_status LapicSendIpi(const pvops_cpuset* cpus, uint8_t vector) {
  if (cpus == nullptr || vector < kFirstExternalVector) return PVOPS_ERR_INVALID;
  // Every target must be known (its APIC ID recorded by cpu_init) before anything is sent.
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (pvops_cpuset_has(cpus, cpu) && core::Cpu(cpu).online == 0) return PVOPS_ERR_INVALID;
  }
  Lapic apic;
  if (const pvops_status st = Lapic::Get(&apic); st != PVOPS_OK) return st;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    const pvops_status st = apic.SendIpi(core::Cpu(cpu).apic_id, kIcrDeliveryFixed | vector);
    if (st != PVOPS_OK) return st;
    core::Count(core::Counter::kIpisSent);
  }
  return PVOPS_OK;
}

[[nodiscard]] PVOPS_BOOT_CODE pvops_status LapicCpuInit(uint32_t cpu) {
  core::PerCpu* record = core::CpuRecord(cpu);
  if (record == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  Lapic apic;
  // Fresh: this CPU may be the first to look, or the kernel may have switched to x2APIC.
  if (const pvops_status st = Lapic::Resolve(&apic); st != PVOPS_OK) return st;
  record->apic_id = apic.Id();
  if (core::KernelOwnsApic()) return PVOPS_OK;
  apic.Write(ApicReg::kTpr, 0);  // accept every priority class
  const uint32_t spurious = apic.Read(ApicReg::kSpurious);
  apic.Write(ApicReg::kSpurious, (spurious & ~0xffu) | kSpuriousApicEnable | core::kVectorSpurious);
  return PVOPS_OK;
}

}  // namespace pvops::hw
