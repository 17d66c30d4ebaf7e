// SPDX-License-Identifier: MIT
#include "cmos_rtc.h"

#include <gtest/gtest.h>

namespace pvops::vmm {
namespace {

// 2026-03-14 15:09:26 UTC, a Saturday.
std::chrono::system_clock::time_point FixedTime() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1773500966));
}

uint8_t Read(CmosRtc& rtc, uint8_t index) {
  rtc.WriteIndex(index);
  return rtc.ReadData();
}

TEST(CmosRtc, ReadsTheClockInBcdTwentyFourHours) {
  CmosRtc rtc(FixedTime);
  EXPECT_EQ(Read(rtc, 0x00), 0x26);      // seconds
  EXPECT_EQ(Read(rtc, 0x02), 0x09);      // minutes
  EXPECT_EQ(Read(rtc, 0x04), 0x15);      // hours
  EXPECT_EQ(Read(rtc, 0x06), 0x07);      // day of week, 1 = Sunday
  EXPECT_EQ(Read(rtc, 0x07), 0x14);      // day of month
  EXPECT_EQ(Read(rtc, 0x08), 0x03);      // month
  EXPECT_EQ(Read(rtc, 0x09), 0x26);      // year
  EXPECT_EQ(Read(rtc, 0x32), 0x20);      // century
  EXPECT_EQ(Read(rtc, 0x0a) & 0x80, 0);  // never mid-update
  EXPECT_EQ(Read(rtc, 0x0b), 0x02);      // 24-hour, BCD
  EXPECT_EQ(Read(rtc, 0x0d), 0x80);      // valid RAM and time
}

TEST(CmosRtc, FollowsStatusBForBinaryAndTwelveHours) {
  CmosRtc rtc(FixedTime);
  rtc.WriteIndex(0x0b);
  rtc.WriteData(0x04);  // binary, 12-hour
  EXPECT_EQ(Read(rtc, 0x00), 26);
  EXPECT_EQ(Read(rtc, 0x04), 0x80 | 3);  // 3 PM
  EXPECT_EQ(Read(rtc, 0x09), 26);
  rtc.WriteIndex(0x0b);
  rtc.WriteData(0x00);  // BCD, 12-hour
  EXPECT_EQ(Read(rtc, 0x04), 0x80 | 0x03);
}

TEST(CmosRtc, FollowsTheClockAsItMoves) {
  auto now = FixedTime();
  CmosRtc rtc([&now] { return now; });
  EXPECT_EQ(Read(rtc, 0x00), 0x26);
  now += std::chrono::seconds(40);
  EXPECT_EQ(Read(rtc, 0x00), 0x06);
  EXPECT_EQ(Read(rtc, 0x02), 0x10);
}

TEST(CmosRtc, IndexDropsTheNmiBitAndRamIsKept) {
  CmosRtc rtc(FixedTime);
  rtc.WriteIndex(0x80 | 0x40);
  EXPECT_EQ(rtc.ReadIndex(), 0x40);
  rtc.WriteData(0xab);
  EXPECT_EQ(Read(rtc, 0x40), 0xab);
  rtc.WriteIndex(0x00);
  rtc.WriteData(0x59);  // setting the clock is ignored
  EXPECT_EQ(rtc.ReadData(), 0x26);
}

}  // namespace
}  // namespace pvops::vmm
