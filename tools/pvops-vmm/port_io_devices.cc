// SPDX-License-Identifier: MIT
#include "port_io_devices.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"

namespace pvops::vmm {
namespace {

constexpr uint8_t kDebugConsoleReadback = 0xe9;  // Bochs/QEMU convention: "port present"
// The keyboard controller's status with both buffers empty: a guest waiting to send its reset
// command (Linux's kb_wait) goes ahead at once.
constexpr uint8_t kKeyboardControllerIdle = 0x00;
constexpr uint8_t kAcpiSleepStatusAwake = 0x00;  // WAK_STS clear

void Answer(std::span<uint8_t> data, uint8_t value) {
  std::fill(data.begin(), data.end(), 0);
  data[0] = value;
}

}  // namespace

PortIoDevices::PortIoDevices(ConsoleOutput& console, IrqLine irq_line, CmosRtc::Clock clock)
    : console_(console),
      com1_(console,
            [irq_line = std::move(irq_line)](bool asserted) {
              if (irq_line) irq_line(kCom1Irq, asserted);
            }),
      rtc_(std::move(clock)) {}

std::optional<PortRequest> PortIoDevices::Access(uint16_t port, bool is_write,
                                                 std::span<uint8_t> data) {
  if (port >= kCom1Base && port < kCom1Base + kCom1PortCount) {
    const auto offset = static_cast<uint16_t>(port - kCom1Base);
    if (is_write) {
      com1_.Write(offset, data[0]);
    } else {
      Answer(data, com1_.Read(offset));
    }
    return std::nullopt;
  }
  if (port == kCmosIndexPort || port == kCmosDataPort) {
    if (is_write) {
      port == kCmosIndexPort ? rtc_.WriteIndex(data[0]) : rtc_.WriteData(data[0]);
    } else {
      Answer(data, port == kCmosIndexPort ? rtc_.ReadIndex() : rtc_.ReadData());
    }
    return std::nullopt;
  }
  if (port == kDebugConsolePort) {
    if (is_write) {
      console_.PutGuestByte(data[0]);
    } else {
      Answer(data, kDebugConsoleReadback);
    }
    return std::nullopt;
  }
  if (port == kDebugExitPort && is_write) {
    uint32_t code = 0;
    std::memcpy(&code, data.data(), std::min(data.size(), sizeof(code)));
    return GuestExitRequest{code, static_cast<uint8_t>(data.size())};
  }
  if (port == kResetControlPort) {
    if (!is_write) {
      Answer(data, reset_control_.load());
    } else if (data[0] & kResetControlCpuReset) {
      return MachineStopRequest{
          .power_off = false,
          .how = absl::StrFormat("reset control register, port %#x <- %#x", port, data[0])};
    } else {
      reset_control_.store(data[0]);
    }
    return std::nullopt;
  }
  if (port == kKeyboardControllerPort) {
    if (!is_write) {
      Answer(data, kKeyboardControllerIdle);
      return std::nullopt;
    }
    if (data[0] == kKeyboardControllerReset) {
      return MachineStopRequest{
          .power_off = false,
          .how = absl::StrFormat("keyboard controller, port %#x <- %#x", port, data[0])};
    }
    ++unhandled_accesses_;  // no controller behind any other command
    return std::nullopt;
  }
  if (port == kAcpiSleepControlPort) {
    if (!is_write) {
      Answer(data, 0);
    } else if (data[0] & kAcpiSleepEnable) {
      const uint8_t type = (data[0] >> kAcpiSleepTypeShift) & kAcpiSleepTypeMask;
      // Only \_S5 is declared; any other type would have the guest wait for a wake-up forever.
      return MachineStopRequest{
          .power_off = true,
          .how =
              absl::StrFormat("ACPI sleep control, port %#x <- %#x: sleep type %u%s", port, data[0],
                              type, type == kAcpiSleepTypeS5 ? " (S5)" : ", not declared")};
    }
    return std::nullopt;
  }
  if (port == kAcpiSleepStatusPort) {
    if (!is_write) Answer(data, kAcpiSleepStatusAwake);  // writes clear status bits: none are set
    return std::nullopt;
  }
  ++unhandled_accesses_;
  if (!is_write) std::fill(data.begin(), data.end(), 0xff);
  return std::nullopt;
}

}  // namespace pvops::vmm
