/* SPDX-License-Identifier: MIT */
// The ACPI tables the VMM gives its guest (ACPI 6.x layouts): RSDP (revision 2) -> XSDT -> FADT
// and MADT, FADT -> DSDT. A hardware-reduced platform, as Firecracker and Cloud Hypervisor
// present to Linux: no SCI, no PM1/GPE blocks, no FACS; the reset register and the sleep
// registers are I/O ports the VMM serves. The MADT lists one enabled local APIC per vCPU, KVM's
// IOAPIC and the ISA override IRQ 0 -> GSI 2. The DSDT declares COM1 with its IRQ (on a
// hardware-reduced platform Linux maps no ISA IRQ by default, so the serial port's interrupt
// comes from here) and \_S5 for power-off.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "guest_memory.h"

namespace pvops::vmm {

// Where the tables live: the BIOS area below 1 MiB, which the memory map reserves and where a
// guest scanning for the RSDP the legacy way finds it too (the RSDP comes first, 16-byte aligned).
// The last 64 KiB hold the reset vector (reset_vector.h).
inline constexpr uint64_t kAcpiTablesAddress = 0xe0000;
inline constexpr uint64_t kAcpiTablesEnd = 0xf0000;

struct AcpiTables {
  uint64_t rsdp_address = 0;
  std::vector<uint8_t> bytes;  // to be copied to the base address they were built for
};

// Builds the tables for vCPUs with APIC IDs 0..vcpu_count-1, addressed as if copied to
// base_address. Throws VmmError for a vCPU count the MADT cannot describe (0, or above 255).
AcpiTables BuildAcpiTables(uint32_t vcpu_count, uint64_t base_address);

// Builds the tables at kAcpiTablesAddress and copies them into guest RAM; returns the RSDP's
// address (hvm_start_info.rsdp_paddr).
uint64_t WriteAcpiTables(GuestMemory& memory, uint32_t vcpu_count);

// AML pieces, exposed for the tests.
// A PkgLength (ACPI 20.2.4) for `content_bytes` that follow it: the encoded length counts the
// PkgLength's own bytes. Throws VmmError past 2^28 - 1.
std::vector<uint8_t> AmlPackageLength(uint64_t content_bytes);
// The 32-bit compressed EISA ID of e.g. "PNP0501" (as ASL's EisaId() encodes it).
uint32_t EisaId(std::string_view id);

}  // namespace pvops::vmm
