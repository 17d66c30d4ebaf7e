/* SPDX-License-Identifier: MIT */
// COM1 as a 16550A UART, as far as Linux's 8250 driver and simple polling consoles use it.
// Transmitted bytes go to the console at once, so the transmitter is always empty (LSR THRE and
// TEMT) and a THR-empty interrupt follows every write while it is enabled. Nothing arrives from
// outside: RBR reads 0 with LSR DR clear, except in loopback (MCR bit 4), which the driver's
// probe uses, where the byte written comes back and the modem outputs show up as modem inputs.
// The interrupt line follows the 16550's rules (IIR priorities, THRE cleared by an IIR read
// naming it or by disabling it, set again by a write or by enabling it) and is reported on every
// change, so an edge-triggered IOAPIC pin sees one edge per new interrupt.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "console_output.h"

namespace pvops::vmm {

class SerialPort {
 public:
  using InterruptLine = std::function<void(bool asserted)>;

  SerialPort(ConsoleOutput& console, InterruptLine interrupt_line);

  // Register offsets 0-7 from the base port; offsets past 7 are ignored by the caller.
  uint8_t Read(uint16_t offset);
  void Write(uint16_t offset, uint8_t value);

 private:
  bool DivisorLatchSelected() const;
  bool Loopback() const;
  // IIR's value (without its FIFO bits): the highest-priority pending interrupt, or none.
  uint8_t PendingInterrupt() const;
  uint8_t ModemStatus() const;
  void Transmit(uint8_t byte);
  // Reports the interrupt line when its level changed.
  void UpdateInterruptLine();

  ConsoleOutput& console_;
  InterruptLine interrupt_line_;
  std::mutex mutex_;
  bool line_asserted_ = false;
  bool transmitter_interrupt_ = false;  // THRE interrupt raised and not yet cleared
  bool received_ = false;               // RBR holds a byte (loopback only)
  uint8_t receive_buffer_ = 0;
  uint8_t interrupt_enable_ = 0;
  uint8_t line_control_ = 0;
  uint8_t modem_control_ = 0;
  uint8_t scratch_ = 0;
  bool fifo_enabled_ = false;
  uint16_t divisor_ = 1;
};

}  // namespace pvops::vmm
