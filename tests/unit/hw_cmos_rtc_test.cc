// SPDX-License-Identifier: MIT
// wall_clock from the CMOS RTC: BCD and binary, 12- and 24-hour modes, the update flag, and
// fields that are not a date.
#include <gtest/gtest.h>

#include <ctime>

#include "bare_metal_machine.h"

namespace pvops::test {
namespace {

class CmosRtcTest : public BareMetalMachineTest {
 protected:
  void SetUp() override { Boot(); }

  static uint64_t Epoch(int year, int month, int day, int hour, int minute, int second) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return static_cast<uint64_t>(timegm(&tm));
  }

  sim::SimCmosRtc rtc_{sim_};
};

TEST_F(CmosRtcTest, BcdTwentyFourHourTime) {
  rtc_.SetBcdTime(2024, 2, 29, 13, 45, 30);
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2024, 2, 29, 13, 45, 30));
  EXPECT_EQ(wc.nsec, 0u);
}

TEST_F(CmosRtcTest, BinaryTwelveHourTime) {
  rtc_.Set(0x00, 5);
  rtc_.Set(0x02, 59);
  rtc_.Set(0x04, 0x80 | 11);  // 11 PM
  rtc_.Set(0x07, 31);
  rtc_.Set(0x08, 12);
  rtc_.Set(0x09, 99);
  rtc_.Set(0x32, 19);
  rtc_.Set(0x0b, 0x04);  // binary, 12-hour
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(1999, 12, 31, 23, 59, 5));
}

TEST_F(CmosRtcTest, TwelveAmIsMidnight) {
  rtc_.SetBcdTime(2030, 1, 1, 12, 0, 0);
  rtc_.Set(0x0b, 0x00);  // BCD, 12-hour: 0x12 without the PM bit
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2030, 1, 1, 0, 0, 0));
}

TEST_F(CmosRtcTest, AnImplausibleCenturyRegisterIsIgnored) {
  rtc_.SetBcdTime(2024, 7, 4, 1, 2, 3);
  rtc_.Set(0x32, 0xff);
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2024, 7, 4, 1, 2, 3));  // two-digit year 24 pivots to 2024
}

TEST_F(CmosRtcTest, ReadsAreRetriedUntilTwoAgree) {
  rtc_.SetBcdTime(2024, 1, 1, 0, 0, 58);
  int seconds_reads = 0;
  rtc_.OnRead([&](uint8_t reg) {
    if (reg == 0x00 && ++seconds_reads == 2) rtc_.Set(0x00, 0x59);  // ticks between reads
  });
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2024, 1, 1, 0, 0, 59));
  EXPECT_EQ(seconds_reads, 4);  // 58 then 59 disagree; 59 and 59 agree
}

TEST_F(CmosRtcTest, WaitsForTheUpdateToFinish) {
  rtc_.SetBcdTime(2024, 1, 1, 0, 0, 0);
  rtc_.SetUpdateInProgressReads(3);
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
}

TEST_F(CmosRtcTest, AnUpdateThatNeverEndsTimesOut) {
  rtc_.SetBcdTime(2024, 1, 1, 0, 0, 0);
  rtc_.SetUpdateInProgressReads(0xffffffff);
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_TIMEOUT);
}

TEST_F(CmosRtcTest, InvalidFieldsAreBadData) {
  struct Case {
    uint8_t reg, value;
  };
  for (const Case c : {Case{0x00, 0x1a}, Case{0x00, 0x60}, Case{0x02, 0x60}, Case{0x04, 0x24},
                       Case{0x07, 0x00}, Case{0x07, 0x32}, Case{0x08, 0x13}, Case{0x08, 0x00}}) {
    rtc_.SetBcdTime(2023, 6, 15, 10, 20, 30);
    rtc_.Set(c.reg, c.value);
    pvops_wall_clock wc{};
    EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA)
        << "register " << int{c.reg} << " = 0x" << std::hex << int{c.value};
  }
}

TEST_F(CmosRtcTest, DaysPastTheEndOfTheMonthAreBadData) {
  rtc_.SetBcdTime(2023, 2, 29, 0, 0, 0);  // not a leap year
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
  rtc_.SetBcdTime(2023, 4, 31, 0, 0, 0);
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
}

TEST_F(CmosRtcTest, TwelveHourModeRejectsHourZero) {
  rtc_.SetBcdTime(2023, 6, 15, 0, 0, 0);
  rtc_.Set(0x0b, 0x00);
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
}

TEST_F(CmosRtcTest, NullOutputIsInvalid) {
  EXPECT_EQ(pvops_get_wall_clock(nullptr), PVOPS_ERR_INVALID);
}

class NoCmosRtcTest : public BareMetalMachineTest {};

TEST_F(NoCmosRtcTest, AnAbsentRtcNeverLeavesItsUpdate) {
  Boot();  // port 0x71 reads 0xff: UIP stuck high
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_TIMEOUT);
}

}  // namespace
}  // namespace pvops::test
