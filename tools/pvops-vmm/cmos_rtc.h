/* SPDX-License-Identifier: MIT */
// The PC's CMOS real-time clock (MC146818) at ports 0x70/0x71, read from this machine's clock:
// KVM has no in-kernel RTC, and the native backend's wall_clock reads it, as on QEMU or hardware.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace pvops::vmm {

inline constexpr uint16_t kCmosIndexPort = 0x70;
inline constexpr uint16_t kCmosDataPort = 0x71;

class CmosRtc {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit CmosRtc(Clock now = std::chrono::system_clock::now);

  void WriteIndex(uint8_t value);  // bit 7 is the NMI mask, not part of the index
  uint8_t ReadIndex();
  void WriteData(uint8_t value);
  uint8_t ReadData();

 private:
  // A time register's value in the encoding status B asks for (BCD or binary, 12 or 24 hours).
  uint8_t TimeRegister(uint8_t index);

  Clock now_;
  std::mutex mutex_;
  uint8_t index_ = 0;
  std::array<uint8_t, 128> bytes_{};
};

}  // namespace pvops::vmm
