/* SPDX-License-Identifier: MIT */
// The local APIC, in whichever mode the CPU is in: xAPIC (a 4 KiB MMIO page at the base that
// IA32_APIC_BASE names) or x2APIC (MSRs 0x800 + offset / 16). Register offsets and bits are
// from the Intel SDM vol. 3A ch. 10 (no uapi header carries them).
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "arch/x86/registers.h"

namespace pvops::hw {

// xAPIC MMIO offsets.
enum class ApicReg : uint32_t {
  kId = 0x20,
  kTpr = 0x80,
  kEoi = 0xb0,
  kSpurious = 0xf0,
  kIcrLow = 0x300,
  kIcrHigh = 0x310,  // xAPIC only: x2APIC has one 64-bit ICR
  kLvtTimer = 0x320,
  kTimerInitialCount = 0x380,
  kTimerCurrentCount = 0x390,
  kTimerDivide = 0x3e0,
};
constexpr uint32_t X2apicMsr(ApicReg reg) {
  return X86_MSR_X2APIC_FIRST + static_cast<uint32_t>(reg) / 16;
}

inline constexpr uint32_t kSpuriousApicEnable = 1u << 8;

inline constexpr uint32_t kIcrDeliveryFixed = 0u << 8;
inline constexpr uint32_t kIcrDeliveryInit = 5u << 8;
inline constexpr uint32_t kIcrDeliveryStartup = 6u << 8;
inline constexpr uint32_t kIcrDeliveryPending = 1u << 12;  // xAPIC only
inline constexpr uint32_t kIcrLevelAssert = 1u << 14;
inline constexpr uint32_t kXapicMaxDestination = 0xfe;  // 0xff is the broadcast address

inline constexpr uint32_t kLvtMasked = 1u << 16;
inline constexpr uint32_t kLvtTimerOneShot = 0u << 17;
inline constexpr uint32_t kLvtTimerTscDeadline = 2u << 17;
inline constexpr uint32_t kTimerDivideBy1 = 0xb;

inline constexpr uint8_t kFirstExternalVector = 32;  // 0..31 are exceptions

// How long a sent xAPIC IPI may stay pending before we give up (real hardware: nanoseconds).
inline constexpr uint64_t kIcrIdleTimeoutNs = 10'000'000;

class Lapic {
 public:
  // This CPU's LAPIC as last resolved (resolving it now if never done). UNSUPPORTED when the
  // APIC is absent or globally disabled, or its page is not mapped by the kernel.
  [[nodiscard]] static pvops_status Get(Lapic* out);
  // Re-reads IA32_APIC_BASE (after a mode switch, or for a new CPU).
  [[nodiscard]] static pvops_status Resolve(Lapic* out);
  // Drops what was resolved; the next Get() reads IA32_APIC_BASE again.
  static void Forget();

  bool x2apic() const { return mmio_ == nullptr; }
  uint32_t Read(ApicReg reg) const;
  void Write(ApicReg reg, uint32_t value) const;
  uint32_t Id() const;
  void Eoi() const;
  // The xAPIC EOI register's mapped address, which Eoi() writes; nullptr in x2APIC mode.
  volatile uint32_t* EoiRegister() const;
  // Sends one IPI (`icr_low`: vector, delivery mode, level) to `apic_id`. In xAPIC mode waits
  // (bounded) for the previous one to leave the ICR: PVOPS_ERR_TIMEOUT if it never does.
  [[nodiscard]] pvops_status SendIpi(uint32_t apic_id, uint32_t icr_low) const;
  // xAPIC only: waits for the last IPI to be accepted; always OK in x2APIC mode.
  [[nodiscard]] pvops_status WaitIcrIdle() const;

 private:
  volatile uint32_t* mmio_ = nullptr;  // the xAPIC page; nullptr in x2APIC mode
};

// The ops on this CPU's LAPIC (the native table's eoi, send_ipi and cpu_init). A missing or
// unmapped LAPIC makes them return PVOPS_ERR_UNSUPPORTED (LapicEoi does nothing).
void LapicEoi();
// Fixed IPIs to every CPU in `cpus`, each of which cpu_init has recorded.
[[nodiscard]] pvops_status LapicSendIpi(const pvops_cpuset* cpus, uint8_t vector);
// Records this CPU's APIC ID and, unless the kernel owns the APIC, accepts every priority and
// enables the APIC with the spurious vector.
[[nodiscard]] pvops_status LapicCpuInit(uint32_t cpu);

// Starts a CPU by INIT-SIPI-SIPI (Intel SDM vol. 3A 8.4.4.1) at start->sipi_page.
[[nodiscard]] pvops_status StartCpuBySipi(uint32_t cpu, uint32_t apic_id,
                                          const pvops_cpu_start* start);

}  // namespace pvops::hw
