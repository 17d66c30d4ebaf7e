#include "port_io_devices.h"

#include <algorithm>
#include <cstring>

namespace pvops::vmm {
namespace {

// 8250/16550 register offsets and bits the guest's driver touches.
constexpr uint16_t kUartData = 0;          // THR/RBR, or divisor low with DLAB
constexpr uint16_t kUartInterruptEnable = 1;  // IER, or divisor high with DLAB
constexpr uint16_t kUartInterruptId = 2;   // IIR on read, FCR on write
constexpr uint16_t kUartLineControl = 3;
constexpr uint16_t kUartModemControl = 4;
constexpr uint16_t kUartLineStatus = 5;
constexpr uint16_t kUartModemStatus = 6;
constexpr uint16_t kUartScratch = 7;
constexpr uint8_t kLineControlDlab = 0x80;
constexpr uint8_t kLineStatusTransmitterEmpty = 0x60;  // THRE | TEMT: always ready to send
constexpr uint8_t kInterruptIdNonePending = 0x01;
constexpr uint8_t kDebugConsoleReadback = 0xe9;  // Bochs/QEMU convention: "port present"

}  // namespace

std::optional<GuestExitRequest> PortIoDevices::Access(uint16_t port, bool is_write, std::span<uint8_t> data) {
  if (port >= kCom1Base && port < kCom1Base + 8) {
    SerialAccess(static_cast<uint16_t>(port - kCom1Base), is_write, data);
    return std::nullopt;
  }
  if (port == kCmosIndexPort || port == kCmosDataPort) {
    if (is_write) {
      port == kCmosIndexPort ? rtc_.WriteIndex(data[0]) : rtc_.WriteData(data[0]);
    } else {
      std::fill(data.begin(), data.end(), 0);
      data[0] = port == kCmosIndexPort ? rtc_.ReadIndex() : rtc_.ReadData();
    }
    return std::nullopt;
  }
  if (port == kDebugConsolePort) {
    if (is_write) {
      console_.PutGuestByte(data[0]);
    } else {
      std::fill(data.begin(), data.end(), 0);
      data[0] = kDebugConsoleReadback;
    }
    return std::nullopt;
  }
  if (port == kDebugExitPort && is_write) {
    uint32_t code = 0;
    std::memcpy(&code, data.data(), std::min(data.size(), sizeof(code)));
    return GuestExitRequest{code, static_cast<uint8_t>(data.size())};
  }
  ++unhandled_accesses_;
  if (!is_write) std::fill(data.begin(), data.end(), 0xff);
  return std::nullopt;
}

void PortIoDevices::SerialAccess(uint16_t offset, bool is_write, std::span<uint8_t> data) {
  std::lock_guard lock(serial_mutex_);
  const bool divisor_latch = line_control_ & kLineControlDlab;
  if (is_write) {
    const uint8_t value = data[0];
    switch (offset) {
      case kUartData:
        if (divisor_latch) {
          divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
        } else {
          console_.PutGuestByte(value);
        }
        break;
      case kUartInterruptEnable:
        if (divisor_latch) {
          divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
        } else {
          interrupt_enable_ = value;
        }
        break;
      case kUartLineControl: line_control_ = value; break;
      case kUartModemControl: modem_control_ = value; break;
      case kUartScratch: scratch_ = value; break;
      default: break;  // FCR and the read-only registers
    }
    return;
  }
  uint8_t value = 0;
  switch (offset) {
    case kUartData: value = divisor_latch ? static_cast<uint8_t>(divisor_) : 0; break;
    case kUartInterruptEnable:
      value = divisor_latch ? static_cast<uint8_t>(divisor_ >> 8) : interrupt_enable_;
      break;
    case kUartInterruptId: value = kInterruptIdNonePending; break;
    case kUartLineControl: value = line_control_; break;
    case kUartModemControl: value = modem_control_; break;
    case kUartLineStatus: value = kLineStatusTransmitterEmpty; break;
    case kUartModemStatus: value = 0; break;
    case kUartScratch: value = scratch_; break;
  }
  std::fill(data.begin(), data.end(), 0);
  data[0] = value;
}

}  // namespace pvops::vmm
