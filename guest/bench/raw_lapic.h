/* SPDX-License-Identifier: MIT */
// The local APIC registers the raw baselines write (EOI, ICR, timer initial count), in whichever
// mode the APIC is in: x2APIC through MSRs, xAPIC through its MMIO page in the direct map.
#pragma once

#include <stdint.h>

namespace guest::bench {

class RawLapic {
 public:
  // Reads IA32_APIC_BASE; false when the APIC is disabled or its page is not in the direct map.
  bool Init();
  bool x2apic() const { return x2apic_; }

  void Eoi() { Write(kEoi, 0); }
  // This CPU's APIC ID (hypervisors need not number APICs like CPUs: Xen's PVH gives vCPU 1
  // APIC ID 2).
  uint32_t Id() const;
  // A fixed-mode IPI to one APIC ID; returns without waiting for delivery.
  void SendIpi(uint32_t apic_id, uint8_t vector);
  // The one-shot timer's arming register, written 0: the same exit, and nothing ever fires.
  void StopTimer() { Write(kTimerInitialCount, 0); }

 private:
  static constexpr uint32_t kId = 0x20;
  static constexpr uint32_t kEoi = 0xb0;
  static constexpr uint32_t kIcrLow = 0x300;
  static constexpr uint32_t kIcrHigh = 0x310;
  static constexpr uint32_t kTimerInitialCount = 0x380;
  void Write(uint32_t reg, uint32_t value);

  bool x2apic_ = false;
  volatile uint32_t* mmio_ = nullptr;
};

}  // namespace guest::bench
