// SPDX-License-Identifier: MIT
// Interrupts the KVM way: PV EOI lets KVM tell us an EOI needs no APIC write (no exit), and
// KVM_HC_SEND_IPI sends one IPI to up to 128 APIC IDs with a single exit.
#include "backends/kvm/kvm.h"
#include "core/backend.h"
#include "hw/lapic.h"

namespace pvops::kvm {
namespace {

// The APIC ICR's fixed delivery mode is 0: the icr argument is just the vector.
constexpr uint64_t kIcrFixed = 0;
constexpr uint32_t kWindowBits = 128;

// Not inlined: one copy for its two call sites (the size budget, README.md "Footprint").
[[nodiscard, gnu::noinline]] pvops_status SendWindow(uint64_t low, uint64_t high,
                                                     uint32_t min_apic_id, uint8_t vector,
                                                     uint32_t targets) {
  const int64_t ret = Hypercall(KVM_HC_SEND_IPI, low, high, min_apic_id, kIcrFixed | vector);
  core::Count(core::Counter::kIpiHypercalls);
  // KVM returns how many vCPUs it reached, or a negative KVM error; reaching more vCPUs than
  // were named is not KVM's answer.
  if (ret < 0) return PVOPS_ERR_HYPERVISOR;
  return static_cast<uint64_t>(ret) > targets ? PVOPS_ERR_BAD_DATA : PVOPS_OK;
}

}  // namespace

[[nodiscard]] PVOPS_BOOT_CODE pvops_status EnablePvEoiOn(uint32_t, CpuPart& part) {
  uint32_t* word = &part.pv_eoi;
  __atomic_store_n(word, 0, __ATOMIC_RELAXED);
  if (!arch::wrmsr_safe(MSR_KVM_PV_EOI_EN, core::VirtToPhys(word) | KVM_MSR_ENABLED))
    return PVOPS_ERR_FAULT;
  return PVOPS_OK;
}

void Eoi() {
  // KVM sets the bit when it injected an interrupt whose EOI it can complete by itself; clearing
  // it is the whole EOI. Otherwise the APIC must hear it.
  uint32_t* word = &ThisPart().pv_eoi;
  if ((__atomic_fetch_and(word, ~uint32_t{KVM_PV_EOI_MASK}, __ATOMIC_SEQ_CST) & KVM_PV_EOI_MASK) !=
      0) {
    core::Count(core::Counter::kPvEoiFast);
    return;
  }
  core::Count(core::Counter::kPvEoiSlow);
  hw::LapicEoi();
}

[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector) {
  if (vector < 32) return PVOPS_ERR_INVALID;
  uint64_t bits[2] = {0, 0};
  uint32_t min_id = 0, targets = 0;
  bool open = false;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    const core::PerCpu& target = core::Cpu(cpu);  // one look-up: the call is out of line
    if (target.online == 0) return PVOPS_ERR_INVALID;
    const uint32_t id = target.apic_id;
    if (open && (id < min_id || id - min_id >= kWindowBits)) {
      if (const pvops_status st = SendWindow(bits[0], bits[1], min_id, vector, targets);
          st != PVOPS_OK)
        return st;
      bits[0] = bits[1] = 0;
      targets = 0;
      open = false;
    }
    if (!open) min_id = id, open = true;
    const uint32_t offset = id - min_id;
    bits[offset / 64] |= uint64_t{1} << (offset % 64);
    ++targets;
    core::Count(core::Counter::kIpisSent);
  }
  return open ? SendWindow(bits[0], bits[1], min_id, vector, targets) : PVOPS_OK;
}

}  // namespace pvops::kvm
