// Interrupt delivery on the local APIC: EOI, fixed IPIs, and the handler registry.
#include "backends/native/lapic.h"
#include "backends/native/native.h"
#include "core/runtime.h"

namespace pvops::native {
namespace {

constexpr uint8_t kFirstExternalVector = 32;  // 0..31 are exceptions

}  // namespace

void Eoi() {
  Lapic apic;
  if (Lapic::Get(&apic) == PVOPS_OK) apic.Eoi();
}

pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector) {
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

pvops_status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx) {
  return core::SetIrqHandler(vector, handler, ctx);
}

}  // namespace pvops::native
