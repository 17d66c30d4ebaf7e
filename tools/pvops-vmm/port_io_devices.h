// The guest's port I/O devices the VMM serves (KVM serves the PIC, PIT and speaker port): COM1
// (transmit only), the CMOS RTC, the 0xe9 debug console and the isa-debug-exit port 0xf4.
// Every other port reads as all ones and ignores writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

#include "cmos_rtc.h"
#include "console_output.h"

namespace pvops::vmm {

inline constexpr uint16_t kCom1Base = 0x3f8;
inline constexpr uint16_t kDebugConsolePort = 0xe9;
inline constexpr uint16_t kDebugExitPort = 0xf4;

struct GuestExitRequest {
  uint32_t code;  // the value the guest wrote to port 0xf4
  uint8_t size;   // the width of that write, repeated on passthrough
};

class PortIoDevices {
 public:
  explicit PortIoDevices(ConsoleOutput& console, CmosRtc::Clock clock = std::chrono::system_clock::now)
      : console_(console), rtc_(std::move(clock)) {}

  // One access of data.size() bytes (1, 2 or 4); reads fill data. Returns the exit request when
  // this access was the guest's write to the exit port.
  std::optional<GuestExitRequest> Access(uint16_t port, bool is_write, std::span<uint8_t> data);

  uint64_t unhandled_accesses() const { return unhandled_accesses_.load(); }

 private:
  void SerialAccess(uint16_t offset, bool is_write, std::span<uint8_t> data);

  ConsoleOutput& console_;
  CmosRtc rtc_;
  std::mutex serial_mutex_;
  uint8_t line_control_ = 0;
  uint8_t interrupt_enable_ = 0;
  uint8_t modem_control_ = 0;
  uint8_t scratch_ = 0;
  uint16_t divisor_ = 1;
  std::atomic<uint64_t> unhandled_accesses_{0};
};

}  // namespace pvops::vmm
