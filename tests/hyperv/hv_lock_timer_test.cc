// SPDX-License-Identifier: MIT
// The one-shot timer on synthetic timer 0 (direct mode) and the spinlock wait that honours the
// spin-wait hint with HvCallNotifyLongSpinWait.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/hyperv/hyperv.h"
#include "backends/native/native.h"
#include "hv_machine.h"
#include "hw/lapic_timer.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class HvTimerTest : public HyperVMachineTest {};

TEST_F(HvTimerTest, AOneShotArmsTimer0InDirectModeAtTheReferenceTime) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  sim_.ClearLogs();
  ASSERT_EQ(pvops_timer_oneshot(123'456'789, 0x41), PVOPS_OK);
  // direct mode (bit 12), auto-enable (bit 3), vector 0x41 in bits 11:4
  EXPECT_EQ(stimer_config_[0], 0x1000u | 0x8u | 0x410u);
  EXPECT_EQ(stimer_count_[0], 1'234'568u) << "100 ns units, rounded up";
  EXPECT_EQ(lapic_.lvt_timer(0) & 0xff, 0u) << "the LAPIC timer is not touched";
  EXPECT_EQ(CounterValue(core::Counter::kTimerArms), 1u);
}

TEST_F(HvTimerTest, TheConfigIsWrittenAgainOnlyForANewVector) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  sim_.ClearLogs();
  ASSERT_EQ(pvops_timer_oneshot(1000, 0x41), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(2000, 0x41), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(3000, 0x42), PVOPS_OK);
  EXPECT_EQ(sim_.MsrWrites(kMsrStimer0Config).size(), 2u);
  EXPECT_THAT(sim_.MsrWrites(kMsrStimer0Count), ElementsAre(10u, 20u, 30u));
}

TEST_F(HvTimerTest, CancelWritesACountOfZero) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(1000, 0x41), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(0, 0x41), PVOPS_OK);
  EXPECT_EQ(stimer_count_[0], 0u);
}

TEST_F(HvTimerTest, WithoutDirectModeTheLapicTimerIsUsed) {
  hv_.features &= ~kFeatDirectSyntheticTimers;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_table.irq.timer_oneshot, hw::LapicTimerOneshot);
  ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1'000'000, 0x41), PVOPS_OK);
  EXPECT_EQ(lapic_.lvt_timer(0) & 0xff, 0x41u);
  EXPECT_TRUE(sim_.MsrWrites(kMsrStimer0Count).empty());
}

TEST_F(HvTimerTest, AVcpuWithoutSynicFallsBackToTheLapic) {
  synic_active_ = false;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_table.irq.timer_oneshot, hw::LapicTimerOneshot);
  EXPECT_THAT(Info().notes, HasSubstr("STIMER0 refused"));
}

TEST_F(HvTimerTest, ACpuWhoseTimerFaultsUsesItsLapic) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  synic_active_ = false;  // CPU 1's vCPU has no SynIC
  OnlineCpus(2);
  sim_.RunOnCpu(
      1, [] { ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1'000'000, 0x41), PVOPS_OK); });
  EXPECT_EQ(lapic_.lvt_timer(1) & 0xff, 0x41u);
}

class HvLockTest : public HyperVMachineTest {
 protected:
  void Start() {
    ASSERT_EQ(BootHyperV(), PVOPS_OK);
    calls_.clear();  // the boot probe
  }
};

TEST_F(HvLockTest, AWaitSpinsTheHintedCountThenNotifies) {
  hv_.spin_wait_count = 16;
  Start();
  sim_.ResetExits();
  const volatile uint8_t lock = 1;
  pvops_lock_wait(&lock, 1);
  EXPECT_EQ(sim_.exits(sim::Exit::kPause), 16u);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].code, kCallNotifyLongSpinWait);
  EXPECT_TRUE(calls_[0].fast);
  EXPECT_EQ(calls_[0].rdx, 16u);
  EXPECT_EQ(CounterValue(hyperv::Counter::kSpinWaitNotifies), 1u);
  EXPECT_EQ(CounterValue(core::Counter::kLockWaits), 1u);
}

TEST_F(HvLockTest, ALockReleasedWhileSpinningNeedsNoHypercall) {
  hv_.spin_wait_count = 16;
  Start();
  volatile uint8_t lock = 1;
  int pauses = 0;
  sim_.OnPause([&] {
    if (++pauses == 3) lock = 0;
  });
  pvops_lock_wait(&lock, 1);
  EXPECT_EQ(pauses, 3);
  EXPECT_THAT(calls_, IsEmpty());
}

TEST_F(HvLockTest, NeverNotifyAndZeroKeepTheNativeWait) {
  for (const uint32_t hint : {0xffffffffu, 0u}) {
    hv_.spin_wait_count = hint;
    ASSERT_EQ(BootHyperV(), PVOPS_OK);
    EXPECT_EQ(pvops_table.lock.wait, native::LockWait) << hint;
  }
}

TEST_F(HvLockTest, ARefusedNotificationIsNotTriedAgain) {
  hv_.spin_wait_count = 2;
  Start();
  answer_ = [](const HvCall&) { return Status(kHvStatusAccessDenied); };
  const volatile uint8_t lock = 1;
  pvops_lock_wait(&lock, 1);
  pvops_lock_wait(&lock, 1);
  EXPECT_EQ(calls_.size(), 1u);
}

}  // namespace
}  // namespace pvops::test
