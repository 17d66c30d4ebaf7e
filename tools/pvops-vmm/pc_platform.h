/* SPDX-License-Identifier: MIT */
// The PC the VMM presents to its guest, in one place: what the ACPI tables describe is what the
// port devices and KVM's irqchip (with the VMM's GSI routing) implement.
#pragma once

#include <cstdint>

namespace pvops::vmm {

// KVM's in-kernel interrupt controllers (KVM_CREATE_IRQCHIP) at their architectural places.
inline constexpr uint64_t kLocalApicAddress = 0xfee00000;
inline constexpr uint64_t kIoApicAddress = 0xfec00000;
inline constexpr uint8_t kIoApicId = 0;       // KVM's IOAPIC resets to ID 0
inline constexpr uint32_t kIoApicPins = 24;   // KVM_IOAPIC_NUM_PINS
inline constexpr uint32_t kIsaIrqs = 16;      // the two 8259s' inputs
inline constexpr uint8_t kPicCascadeIrq = 2;  // the slave 8259's input on the master
// The PIT's ISA IRQ 0 reaches IOAPIC pin 2, as on PCs and QEMU: the ACPI tables say so with an
// interrupt source override and the VMM's GSI routing makes it true.
inline constexpr uint8_t kTimerIsaIrq = 0;
inline constexpr uint32_t kTimerGsi = 2;

// COM1, a 16550A UART on ISA IRQ 4 (GSI 4: no override).
inline constexpr uint16_t kCom1Base = 0x3f8;
inline constexpr uint16_t kCom1PortCount = 8;
inline constexpr uint8_t kCom1Irq = 4;

// Ways the guest asks for a reset. The reset control register of PC chipsets (bit 2 starts the
// reset; the FADT names it as the ACPI reset register with the value 0x06, as QEMU's q35 does)
// and the keyboard controller's "pulse reset line" command.
inline constexpr uint16_t kResetControlPort = 0xcf9;
inline constexpr uint8_t kResetControlCpuReset = 0x04;
inline constexpr uint8_t kAcpiResetValue = 0x06;  // system reset | CPU reset
inline constexpr uint16_t kKeyboardControllerPort = 0x64;
inline constexpr uint8_t kKeyboardControllerReset = 0xfe;

// Hardware-reduced ACPI's sleep control and status registers (FADT SLEEP_CONTROL_REG,
// SLEEP_STATUS_REG), at otherwise unused ports. Writing SLP_EN with the \_S5 type powers off.
inline constexpr uint16_t kAcpiSleepControlPort = 0x680;
inline constexpr uint16_t kAcpiSleepStatusPort = 0x681;
inline constexpr uint8_t kAcpiSleepTypeS5 = 5;     // the DSDT's \_S5 package
inline constexpr uint8_t kAcpiSleepEnable = 0x20;  // SLP_EN
inline constexpr uint8_t kAcpiSleepTypeShift = 2;  // SLP_TYP, bits 2-4
inline constexpr uint8_t kAcpiSleepTypeMask = 0x07;

}  // namespace pvops::vmm
