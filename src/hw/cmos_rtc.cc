// SPDX-License-Identifier: MIT
// wall_clock from the CMOS real-time clock (MC146818). Every field is hardware data: read it
// twice outside an update, then check it is a real date before turning it into seconds.
#include "hw/cmos_rtc.h"

#include "arch/x86/arch.h"
#include "hw/bounded_wait.h"

namespace pvops::hw {
namespace {

constexpr uint16_t kCmosIndexPort = 0x70;
constexpr uint16_t kCmosDataPort = 0x71;

enum CmosRegister : uint8_t {
  kSeconds = 0x00,
  kMinutes = 0x02,
  kHours = 0x04,
  kDayOfMonth = 0x07,
  kMonth = 0x08,
  kYear = 0x09,
  kStatusA = 0x0a,
  kStatusB = 0x0b,
  kCentury = 0x32,  // the ACPI FADT default; QEMU and most firmware keep it there
};
constexpr uint8_t kStatusAUpdating = 0x80;
constexpr uint8_t kStatusB24Hour = 0x02;
constexpr uint8_t kStatusBBinary = 0x04;
constexpr uint8_t kHourPm = 0x80;  // 12-hour mode only

// An update takes under 2 ms after UIP rises (MC146818 data sheet).
constexpr uint64_t kUpdateTimeoutNs = 20'000'000;
constexpr int kMaxReadAttempts = 5;

struct RtcFields {
  uint8_t seconds, minutes, hours, day, month, year, century, status_b;
  bool operator==(const RtcFields&) const = default;
};

uint8_t ReadCmos(uint8_t reg) {
  arch::outb(kCmosIndexPort, reg);
  return arch::inb(kCmosDataPort);
}

bool WaitUntilNotUpdating() {
  if ((ReadCmos(kStatusA) & kStatusAUpdating) == 0) return true;
  const Deadline give_up(kUpdateTimeoutNs);
  while ((ReadCmos(kStatusA) & kStatusAUpdating) != 0) {
    if (give_up.Expired()) return false;
    arch::pause();
  }
  return true;
}

RtcFields ReadFields() {
  RtcFields f;
  f.seconds = ReadCmos(kSeconds);
  f.minutes = ReadCmos(kMinutes);
  f.hours = ReadCmos(kHours);
  f.day = ReadCmos(kDayOfMonth);
  f.month = ReadCmos(kMonth);
  f.year = ReadCmos(kYear);
  f.century = ReadCmos(kCentury);
  f.status_b = ReadCmos(kStatusB);
  return f;
}

// BCD to binary; false when a nibble is not a decimal digit.
bool FromBcd(uint8_t bcd, uint8_t* out) {
  if ((bcd & 0xf) > 9 || (bcd >> 4) > 9) return false;
  *out = static_cast<uint8_t>((bcd >> 4) * 10 + (bcd & 0xf));
  return true;
}

bool IsLeapYear(uint64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

uint32_t DaysInMonth(uint64_t year, uint32_t month) {
  constexpr uint8_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (year >= 1970).
uint64_t DaysSinceEpoch(uint64_t year, uint32_t month, uint32_t day) {
  uint64_t days = 0;
  for (uint64_t y = 1970; y < year; ++y) days += IsLeapYear(y) ? 366 : 365;
  for (uint32_t m = 1; m < month; ++m) days += DaysInMonth(year, m);
  return days + day - 1;
}

[[nodiscard]] pvops_status Decode(RtcFields f, pvops_wall_clock* out) {
  const bool binary = (f.status_b & kStatusBBinary) != 0;
  const bool pm = (f.status_b & kStatusB24Hour) == 0 && (f.hours & kHourPm) != 0;
  if ((f.status_b & kStatusB24Hour) == 0) f.hours &= static_cast<uint8_t>(~kHourPm);
  if (!binary) {
    uint8_t* const fields[] = {&f.seconds, &f.minutes, &f.hours, &f.day, &f.month, &f.year};
    for (uint8_t* field : fields) {
      if (!FromBcd(*field, field)) return PVOPS_ERR_BAD_DATA;
    }
  }
  if ((f.status_b & kStatusB24Hour) == 0) {
    if (f.hours < 1 || f.hours > 12) return PVOPS_ERR_BAD_DATA;
    f.hours = static_cast<uint8_t>(f.hours % 12 + (pm ? 12 : 0));
  }
  if (f.seconds > 59 || f.minutes > 59 || f.hours > 23 || f.year > 99) return PVOPS_ERR_BAD_DATA;
  if (f.month < 1 || f.month > 12) return PVOPS_ERR_BAD_DATA;

  // The century register is a convention, not a guarantee: trust it only when it reads as a
  // plausible century, else pivot two-digit years at 1970 as Linux does.
  uint8_t century = f.century;
  const bool century_ok =
      (binary || FromBcd(f.century, &century)) && century >= 19 && century <= 30;
  const uint64_t year = century_ok ? uint64_t{century} * 100 + f.year
                                   : (f.year < 70 ? 2000 : 1900) + uint64_t{f.year};
  if (year < 1970) return PVOPS_ERR_BAD_DATA;
  if (f.day < 1 || f.day > DaysInMonth(year, f.month)) return PVOPS_ERR_BAD_DATA;

  out->sec = DaysSinceEpoch(year, f.month, f.day) * 86400 + uint64_t{f.hours} * 3600 +
             uint64_t{f.minutes} * 60 + f.seconds;
  out->nsec = 0;
  out->reserved = 0;
  return PVOPS_OK;
}

}  // namespace

[[nodiscard]] pvops_status CmosRtcWallClock(pvops_wall_clock* out) {
  if (out == nullptr) return PVOPS_ERR_INVALID;
  // Two equal reads, each after the update flag dropped, cannot straddle a second boundary.
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    if (!WaitUntilNotUpdating()) return PVOPS_ERR_TIMEOUT;
    const RtcFields first = ReadFields();
    if (!WaitUntilNotUpdating()) return PVOPS_ERR_TIMEOUT;
    if (ReadFields() == first) return Decode(first, out);
  }
  return PVOPS_ERR_TIMEOUT;
}

}  // namespace pvops::hw
