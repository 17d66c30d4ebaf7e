// SPDX-License-Identifier: MIT
// EOI and IPIs through the ROM's APICWrite/APICRead. The ROM keeps no state, so each call
// carries where this kernel maps the xAPIC page (0 in x2APIC mode: the ROM uses the MSRs).
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"
#include "hw/bounded_wait.h"
#include "hw/lapic.h"

namespace pvops::vmi {
namespace {

using hw::ApicReg;

// One word every CPU reads whole: 0 = not resolved, kX2apic, or the xAPIC page's address.
constexpr uintptr_t kX2apic = 1;
uintptr_t g_apic_mode;

bool RomApicUsable() { return Provides(VMI_CALL_APICWrite) && Provides(VMI_CALL_APICRead); }

// The ROM's first argument: the page, or 0 for x2APIC. false when unresolved.
bool ApicPage(uintptr_t* page) {
  const uintptr_t mode = __atomic_load_n(&g_apic_mode, __ATOMIC_ACQUIRE);
  if (mode == 0) return false;
  *page = mode == kX2apic ? 0 : mode;
  return true;
}

uint32_t ApicRead(uintptr_t page, ApicReg reg) {
  return static_cast<uint32_t>(CallRom(VMI_CALL_APICRead, page, static_cast<uint32_t>(reg)));
}
void ApicWrite(uintptr_t page, ApicReg reg, uint64_t value) {
  CallRom(VMI_CALL_APICWrite, page, static_cast<uint32_t>(reg), value);
}

[[nodiscard]] pvops_status SendOne(uintptr_t page, uint32_t apic_id, uint32_t icr_low) {
  if (page == 0) {
    ApicWrite(page, ApicReg::kIcrLow, uint64_t{apic_id} << 32 | icr_low);  // one x2APIC write
    return PVOPS_OK;
  }
  if (apic_id > hw::kXapicMaxDestination) return PVOPS_ERR_INVALID;
  // The two ICR halves must not interleave with an interrupt handler's IPI on this CPU.
  const uint64_t flags = arch::save_flags();
  arch::cli();
  pvops_status st = PVOPS_OK;
  if ((ApicRead(page, ApicReg::kIcrLow) & hw::kIcrDeliveryPending) != 0) {
    const hw::Deadline give_up(hw::kIcrIdleTimeoutNs);
    while ((ApicRead(page, ApicReg::kIcrLow) & hw::kIcrDeliveryPending) != 0) {
      if (give_up.Expired()) {
        st = PVOPS_ERR_TIMEOUT;
        break;
      }
      arch::pause();
    }
  }
  if (st == PVOPS_OK) {
    ApicWrite(page, ApicReg::kIcrHigh, apic_id << 24);
    ApicWrite(page, ApicReg::kIcrLow, icr_low);  // this write sends
  }
  arch::restore_flags(flags);
  return st;
}

}  // namespace

bool ResolveApicForRom() {
  uint64_t base = 0;
  if (!RomApicUsable() || !arch::rdmsr_safe(X86_MSR_IA32_APIC_BASE, &base) ||
      (base & X86_APIC_BASE_GLOBAL_ENABLE) == 0) {
    return false;
  }
  uintptr_t mode = kX2apic;
  if ((base & X86_APIC_BASE_X2APIC_ENABLE) == 0) {
    mode = reinterpret_cast<uintptr_t>(core::PhysToVirt(base & X86_APIC_BASE_ADDRESS_MASK));
    if (mode == 0 || mode == kX2apic) return false;  // the kernel does not map the page
  }
  __atomic_store_n(&g_apic_mode, mode, __ATOMIC_RELEASE);
  return true;
}

void Eoi() {
  uintptr_t page;
  if (ApicPage(&page)) {
    ApicWrite(page, ApicReg::kEoi, 0);
  } else {
    hw::LapicEoi();
  }
}

[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector) {
  constexpr uint8_t kFirstExternalVector = 32;
  if (cpus == nullptr || vector < kFirstExternalVector) return PVOPS_ERR_INVALID;
  uintptr_t page;
  if (!ApicPage(&page)) return hw::LapicSendIpi(cpus, vector);
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (pvops_cpuset_has(cpus, cpu) && core::Cpu(cpu).online == 0) return PVOPS_ERR_INVALID;
  }
  // Make earlier stores visible before the IPI lands (the ROM fences x2APIC writes itself,
  // but the contract should not depend on one ROM's care).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    const pvops_status st = SendOne(page, core::Cpu(cpu).apic_id, hw::kIcrDeliveryFixed | vector);
    if (st != PVOPS_OK) return st;
    core::Count(core::Counter::kIpisSent);
  }
  return PVOPS_OK;
}

}  // namespace pvops::vmi
