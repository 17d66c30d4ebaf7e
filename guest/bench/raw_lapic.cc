#include "bench/raw_lapic.h"

#include "bench/raw_insns.h"
#include "kernel/layout.h"

namespace guest::bench {
namespace {

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint64_t kApicBaseEnable = 1u << 11;
constexpr uint64_t kApicBaseX2apic = 1u << 10;
constexpr uint64_t kApicBaseAddressMask = 0x000ffffffffff000;
constexpr uint32_t kX2apicMsrBase = 0x800;
constexpr uint32_t kIcrLevelAssert = 1u << 14;

}  // namespace

bool RawLapic::Init() {
  const uint64_t base = RawRdmsr(kMsrApicBase);
  if ((base & kApicBaseEnable) == 0) return false;
  x2apic_ = (base & kApicBaseX2apic) != 0;
  if (x2apic_) return true;
  mmio_ = static_cast<volatile uint32_t*>(PhysToVirt(base & kApicBaseAddressMask));
  return mmio_ != nullptr;
}

void RawLapic::Write(uint32_t reg, uint32_t value) {
  if (x2apic_) {
    RawWrmsr(kX2apicMsrBase + (reg >> 4), value);
  } else {
    mmio_[reg / 4] = value;
  }
}

uint32_t RawLapic::Id() const {
  // x2APIC: the whole 32-bit ID in its MSR; xAPIC: bits 31:24 of the ID register.
  if (x2apic_) return static_cast<uint32_t>(RawRdmsr(kX2apicMsrBase + (kId >> 4)));
  return mmio_[kId / 4] >> 24;
}

void RawLapic::SendIpi(uint32_t apic_id, uint8_t vector) {
  if (x2apic_) {
    RawWrmsr(kX2apicMsrBase + (kIcrLow >> 4), (uint64_t{apic_id} << 32) | vector);
    return;
  }
  Write(kIcrHigh, apic_id << 24);
  Write(kIcrLow, kIcrLevelAssert | vector);
}

}  // namespace guest::bench
