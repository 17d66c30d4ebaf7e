// SPDX-License-Identifier: MIT
#include "bench/raw_lapic.h"

#include "arch/x86/registers.h"
#include "bench/raw_insns.h"
#include "kernel/layout.h"

namespace guest::bench {
namespace {

constexpr uint32_t kIcrLevelAssert = 1u << 14;

}  // namespace

bool RawLapic::Init() {
  const uint64_t base = RawRdmsr(X86_MSR_IA32_APIC_BASE);
  if ((base & X86_APIC_BASE_GLOBAL_ENABLE) == 0) return false;
  x2apic_ = (base & X86_APIC_BASE_X2APIC_ENABLE) != 0;
  if (x2apic_) return true;
  mmio_ = static_cast<volatile uint32_t*>(PhysToVirt(base & X86_APIC_BASE_ADDRESS_MASK));
  return mmio_ != nullptr;
}

void RawLapic::Write(uint32_t reg, uint32_t value) {
  if (x2apic_) {
    RawWrmsr(X86_MSR_X2APIC_FIRST + (reg >> 4), value);
  } else {
    mmio_[reg / 4] = value;
  }
}

uint32_t RawLapic::Id() const {
  // x2APIC: the whole 32-bit ID in its MSR; xAPIC: bits 31:24 of the ID register.
  if (x2apic_) return static_cast<uint32_t>(RawRdmsr(X86_MSR_X2APIC_FIRST + (kId >> 4)));
  return mmio_[kId / 4] >> 24;
}

void RawLapic::SendIpi(uint32_t apic_id, uint8_t vector) {
  if (x2apic_) {
    RawWrmsr(X86_MSR_X2APIC_FIRST + (kIcrLow >> 4), (uint64_t{apic_id} << 32) | vector);
    return;
  }
  Write(kIcrHigh, apic_id << 24);
  Write(kIcrLow, kIcrLevelAssert | vector);
}

}  // namespace guest::bench
