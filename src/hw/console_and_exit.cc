// SPDX-License-Identifier: MIT
#include "hw/console_and_exit.h"

#include <linux/serial_reg.h>

#include "arch/x86/arch.h"

namespace pvops::hw {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
// A byte leaves a 16550 at 115200 baud in ~87 us; this many status reads is ample, and bounds
// the cost of a UART that never drains.
constexpr uint32_t kMaxLsrPolls = 0x10000;
constexpr uint16_t kDebugExitPort = 0xf4;

}  // namespace

void Com1Write(const char* text, size_t len) {
  if (text == nullptr) return;
  for (size_t i = 0; i < len; ++i) {
    for (uint32_t polls = 0; polls < kMaxLsrPolls; ++polls) {
      if ((arch::inb(kCom1 + UART_LSR) & UART_LSR_THRE) != 0) break;
      arch::pause();
    }
    arch::outb(kCom1 + UART_TX, static_cast<uint8_t>(text[i]));
  }
}

void DebugExitShutdown(uint32_t code) {
  arch::outl(kDebugExitPort, code);
  // No exit device (or it let us continue): stop here for good.
  for (;;) {
    arch::cli();
    arch::hlt();
  }
}

}  // namespace pvops::hw
