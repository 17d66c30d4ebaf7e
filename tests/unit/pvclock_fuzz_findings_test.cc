// SPDX-License-Identifier: MIT
// What the fuzz targets (tests/fuzz) found in the clock reads, one test per finding.
#include <gtest/gtest.h>

#include "core/pvclock.h"

namespace pvops::test {
namespace {

// fuzz_clock: a tuple's shift is hypervisor data, and C++ leaves a shift by 64 or more
// undefined. The scale takes the count modulo 64, as the shl/shr instructions do: shift 128
// scales like shift 0, -65 like -1, 70 like 6.
TEST(PvclockFuzzFindings, ShiftsPast63TakeTheCountModulo64) {
  constexpr uint64_t kDelta = 0x123456789;
  constexpr uint32_t kMul = 0x80000000;  // x 1/2
  EXPECT_EQ(core::PvclockScale(kDelta, kMul, -128), kDelta / 2);
  EXPECT_EQ(core::PvclockScale(kDelta, kMul, 64), kDelta / 2);
  EXPECT_EQ(core::PvclockScale(kDelta, kMul, -65), (kDelta >> 1) / 2);
  EXPECT_EQ(core::PvclockScale(kDelta, kMul, 70), (kDelta << 6) / 2);
  // 127 is 63: of the odd delta only its low bit is left, at bit 63; x 1/2 is 2^62.
  EXPECT_EQ(core::PvclockScale(kDelta, kMul, 127), uint64_t{1} << 62);
}

// fuzz_clock: the rate the tuple implies undoes the same shift, modulo 64 too. A mul of 2^31
// is 2 GHz at shift 0: 2,000,000 kHz.
TEST(PvclockFuzzFindings, TheRatesShiftTakesTheCountModulo64) {
  vcpu_time_info t{};
  t.tsc_to_system_mul = 0x80000000;
  t.tsc_shift = -128;
  EXPECT_EQ(core::PvclockTscKhz(&t), 2'000'000u);
  t.tsc_shift = 65;
  EXPECT_EQ(core::PvclockTscKhz(&t), 1'000'000u);
  t.tsc_shift = -66;
  EXPECT_EQ(core::PvclockTscKhz(&t), 8'000'000u);
}

}  // namespace
}  // namespace pvops::test
