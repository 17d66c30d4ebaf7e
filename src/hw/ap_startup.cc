// SPDX-License-Identifier: MIT
// Bringing CPUs up: the INIT-SIPI-SIPI sequence (Intel SDM vol. 3A 8.4.4.1).
#include "arch/x86/registers.h"
#include "hw/bounded_wait.h"
#include "hw/lapic.h"

namespace pvops::hw {
namespace {

constexpr uint64_t kRealModeLimit = 1 << 20;
// SIPI vectors 0xa0..0xbf are reserved (SDM 8.4.4.1): that is the legacy video window anyway.
constexpr uint64_t kReservedSipiFirst = 0xa0;
constexpr uint64_t kReservedSipiLast = 0xbf;
constexpr uint64_t kInitToSipiNs = 10'000'000;  // 10 ms
constexpr uint64_t kSipiToSipiNs = 200'000;     // 200 us

}  // namespace

[[nodiscard]] pvops_status StartCpuBySipi(uint32_t cpu, uint32_t apic_id,
                                          const pvops_cpu_start* start) {
  if (start == nullptr || cpu >= PVOPS_MAX_CPUS) return PVOPS_ERR_INVALID;
  const uint64_t page = start->sipi_page;
  if (page % X86_PAGE_SIZE != 0 || page >= kRealModeLimit) return PVOPS_ERR_INVALID;
  const uint64_t vector = page / X86_PAGE_SIZE;
  if (vector >= kReservedSipiFirst && vector <= kReservedSipiLast) return PVOPS_ERR_INVALID;

  Lapic apic;
  if (const pvops_status st = Lapic::Get(&apic); st != PVOPS_OK) return st;
  if (!apic.x2apic() && apic_id > kXapicMaxDestination) return PVOPS_ERR_INVALID;

  pvops_status st = apic.SendIpi(apic_id, kIcrDeliveryInit | kIcrLevelAssert);
  if (st != PVOPS_OK) return st;
  DelayNs(kInitToSipiNs);
  for (int i = 0; i < 2; ++i) {
    // Level "assert" as the SDM's MP initialization example sends it (0x000C46XX).
    st = apic.SendIpi(apic_id,
                      kIcrDeliveryStartup | kIcrLevelAssert | static_cast<uint32_t>(vector));
    if (st == PVOPS_OK) st = apic.WaitIcrIdle();
    if (st != PVOPS_OK) return st;
    DelayNs(kSipiToSipiNs);
  }
  return PVOPS_OK;
}

}  // namespace pvops::hw
