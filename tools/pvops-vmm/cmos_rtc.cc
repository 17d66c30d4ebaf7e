// SPDX-License-Identifier: MIT
#include "cmos_rtc.h"

#include <ctime>

namespace pvops::vmm {
namespace {

constexpr uint8_t kSeconds = 0x00;
constexpr uint8_t kMinutes = 0x02;
constexpr uint8_t kHours = 0x04;
constexpr uint8_t kDayOfWeek = 0x06;
constexpr uint8_t kDayOfMonth = 0x07;
constexpr uint8_t kMonth = 0x08;
constexpr uint8_t kYear = 0x09;
constexpr uint8_t kStatusA = 0x0a;
constexpr uint8_t kStatusB = 0x0b;
constexpr uint8_t kStatusC = 0x0c;
constexpr uint8_t kStatusD = 0x0d;
constexpr uint8_t kCentury = 0x32;  // where ACPI's FADT and QEMU put it

constexpr uint8_t kStatusADivider32kHz = 0x26;  // what firmware programs; UIP (bit 7) never set
constexpr uint8_t kStatusB24Hour = 0x02;
constexpr uint8_t kStatusBBinary = 0x04;
constexpr uint8_t kStatusDValidRam = 0x80;
constexpr uint8_t kHourPm = 0x80;
constexpr uint8_t kIndexMask = 0x7f;

uint8_t ToBcd(int value) { return static_cast<uint8_t>((value / 10) << 4 | (value % 10)); }

bool IsTimeRegister(uint8_t index) {
  return index == kSeconds || index == kMinutes || index == kHours || index == kDayOfWeek ||
         index == kDayOfMonth || index == kMonth || index == kYear || index == kCentury;
}

}  // namespace

CmosRtc::CmosRtc(Clock now) : now_(std::move(now)) {
  bytes_[kStatusA] = kStatusADivider32kHz;
  bytes_[kStatusB] = kStatusB24Hour;  // 24-hour BCD: the PC default
  bytes_[kStatusD] = kStatusDValidRam;
}

void CmosRtc::WriteIndex(uint8_t value) {
  std::lock_guard lock(mutex_);
  index_ = value & kIndexMask;
}

uint8_t CmosRtc::ReadIndex() {
  std::lock_guard lock(mutex_);
  return index_;
}

void CmosRtc::WriteData(uint8_t value) {
  std::lock_guard lock(mutex_);
  // The clock follows this machine's; setting it is not supported. Status C/D are read-only.
  if (IsTimeRegister(index_) || index_ == kStatusC || index_ == kStatusD) return;
  bytes_[index_] = index_ == kStatusA ? static_cast<uint8_t>(value & 0x7f) : value;
}

uint8_t CmosRtc::ReadData() {
  std::lock_guard lock(mutex_);
  return IsTimeRegister(index_) ? TimeRegister(index_) : bytes_[index_];
}

uint8_t CmosRtc::TimeRegister(uint8_t index) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now_());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  const uint8_t status_b = bytes_[kStatusB];
  const bool binary = status_b & kStatusBBinary;
  const auto encode = [binary](int value) {
    return binary ? static_cast<uint8_t>(value) : ToBcd(value);
  };
  switch (index) {
    case kSeconds: return encode(utc.tm_sec);
    case kMinutes: return encode(utc.tm_min);
    case kHours: {
      if (status_b & kStatusB24Hour) return encode(utc.tm_hour);
      const int hour12 = utc.tm_hour % 12 == 0 ? 12 : utc.tm_hour % 12;
      return static_cast<uint8_t>(encode(hour12) | (utc.tm_hour >= 12 ? kHourPm : 0));
    }
    case kDayOfWeek: return encode(utc.tm_wday + 1);  // 1 = Sunday
    case kDayOfMonth: return encode(utc.tm_mday);
    case kMonth: return encode(utc.tm_mon + 1);
    case kYear: return encode((utc.tm_year + 1900) % 100);
    case kCentury: return encode((utc.tm_year + 1900) / 100);
    default: return 0;
  }
}

}  // namespace pvops::vmm
