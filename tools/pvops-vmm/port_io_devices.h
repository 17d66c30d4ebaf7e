/* SPDX-License-Identifier: MIT */
// The guest's port I/O devices the VMM serves (KVM serves the PIC, PIT and speaker port): COM1
// (serial_port.h), the CMOS RTC, the 0xe9 debug console, the isa-debug-exit port 0xf4, and the
// registers through which the guest resets or powers off the machine (pc_platform.h): the reset
// control register 0xcf9 (also the FADT's reset register), the keyboard controller's reset
// command and the ACPI sleep registers. Every other port reads as all ones and ignores writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "cmos_rtc.h"
#include "console_output.h"
#include "pc_platform.h"
#include "serial_port.h"

namespace pvops::vmm {

inline constexpr uint16_t kDebugConsolePort = 0xe9;
inline constexpr uint16_t kDebugExitPort = 0xf4;

struct GuestExitRequest {
  uint32_t code;  // the value the guest wrote to port 0xf4
  uint8_t size;   // the width of that write, repeated on passthrough
};

// The guest asked to reset or power off the machine; this VMM ends the run instead.
struct MachineStopRequest {
  bool power_off = false;  // else a reset
  std::string how;         // the register and value written, for the run's fault line
};

// What a port access asks of the run beyond the access itself.
using PortRequest = std::variant<GuestExitRequest, MachineStopRequest>;

class PortIoDevices {
 public:
  // Raises (true) or lowers an ISA interrupt line; the VMM passes it on to KVM_IRQ_LINE.
  using IrqLine = std::function<void(uint32_t irq, bool asserted)>;

  explicit PortIoDevices(ConsoleOutput& console, IrqLine irq_line = nullptr,
                         CmosRtc::Clock clock = std::chrono::system_clock::now);

  // One access of data.size() bytes (1, 2 or 4); reads fill data. Returns a request when this
  // access was the guest's write to the exit port, or a reset or power-off.
  std::optional<PortRequest> Access(uint16_t port, bool is_write, std::span<uint8_t> data);

  uint64_t unhandled_accesses() const { return unhandled_accesses_.load(); }

 private:
  ConsoleOutput& console_;
  SerialPort com1_;
  CmosRtc rtc_;
  std::atomic<uint8_t> reset_control_{0};
  std::atomic<uint64_t> unhandled_accesses_{0};
};

}  // namespace pvops::vmm
