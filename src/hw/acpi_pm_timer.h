/* SPDX-License-Identifier: MIT */
// Where the firmware says the ACPI power-management timer is: the FADT's PM_TMR_BLK, found
// through the RSDP (hvm_start_info's rsdp_paddr on a PVH entry, else the BIOS areas the ACPI
// spec names) and the RSDT or XSDT. Every table is firmware data: signatures, lengths and
// checksums are checked before a field is believed.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::hw {

// 3.579545 MHz, fixed by the ACPI specification.
inline constexpr uint64_t kPmTimerHz = 3'579'545;

struct PmTimerPort {
  uint16_t port;
  uint32_t mask;  // 0x00ffffff, or 0xffffffff when the FADT sets TMR_VAL_EXT
};

// PVOPS_OK and the port; PVOPS_ERR_UNSUPPORTED when no valid FADT describes an I/O-port timer
// (no RSDP, a hardware-reduced platform, an address outside port space); PVOPS_ERR_BAD_DATA
// when a table failed its checks.
[[nodiscard]] pvops_status FindPmTimer(PmTimerPort* out);

}  // namespace pvops::hw
