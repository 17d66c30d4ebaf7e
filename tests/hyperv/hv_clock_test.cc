// SPDX-License-Identifier: MIT
// Time: the reference TSC page read without exits, the retry while its sequence changes, the
// TIME_REF_COUNT fallback for sequence 0, the stated-frequency TSC (or native) clock when there
// is no usable page, and tsc_khz.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "backends/hyperv/hv_clock.h"
#include "backends/hyperv/hyperv.h"
#include "hv_machine.h"
#include "hw/lapic_timer.h"
#include "hw/tsc.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using sim::Exit;
using ::testing::HasSubstr;

class HvClockTest : public HyperVMachineTest {};

TEST_F(HvClockTest, TheClockComesFromTheTscPageWithoutAnExit) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_NE(reference_tsc_msr_ & 1, 0u);
  EXPECT_EQ(reference_tsc_msr_ & ~uint64_t{0xfff}, reinterpret_cast<uintptr_t>(TscPage()));
  sim_.ResetExits();
  const uint64_t before = ReferenceNow();
  const uint64_t ns = pvops_clock_ns();
  const uint64_t after = ReferenceNow();
  EXPECT_EQ(sim_.exits(Exit::kRdmsr), 0u);
  EXPECT_EQ(sim_.exits(Exit::kRdtsc), 1u);
  EXPECT_EQ(sim_.total_exits(), 1u) << "the rdtsc is the only instruction";
  EXPECT_GE(ns, (before - 1) * 100);  // the scale rounds down by at most one unit
  EXPECT_LE(ns, after * 100);
  EXPECT_EQ(CounterValue(hyperv::Counter::kTscPageReads), 1u);
  EXPECT_EQ(CounterValue(hyperv::Counter::kRefCounterMsrReads), 0u);
}

// The page a kernel may map for its vDSO is the reference TSC page the hypervisor was given.
TEST_F(HvClockTest, UserClockIsTheReferenceTscPage) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  pvops_user_clock clock{};
  ASSERT_EQ(pvops_get_user_clock(&clock), PVOPS_OK);
  EXPECT_EQ(clock.kind, uint32_t{PVOPS_USER_CLOCK_HV_TSC_PAGE});
  EXPECT_EQ(clock.stable, 1u);
  EXPECT_EQ(clock.page_phys, reference_tsc_msr_ & ~uint64_t{0xfff});
  EXPECT_EQ(clock.page, const_cast<const ReferenceTscPage*>(TscPage()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(clock.page) % PVOPS_PAGE_SIZE, 0u);
  TscPage()->sequence = kTscPageInvalidSequence;  // readers must use the MSR: not from user space
  ASSERT_EQ(pvops_get_user_clock(&clock), PVOPS_OK);
  EXPECT_EQ(clock.stable, 0u);
}

TEST_F(HvClockTest, NoUserClockWithoutTheTscPage) {
  hv_.privileges &= ~kPrivReferenceTsc;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  pvops_user_clock clock{};
  EXPECT_EQ(pvops_get_user_clock(&clock), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(clock.kind, uint32_t{PVOPS_USER_CLOCK_NONE});
}

TEST_F(HvClockTest, SequenceZeroFallsBackToTheReferenceCounterMsr) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  TscPage()->sequence = 0;  // the hypervisor stops the page (e.g. TSC no longer stable)
  sim_.ResetExits();
  const uint64_t ns = pvops_clock_ns();
  EXPECT_EQ(sim_.exits(Exit::kRdmsr), 1u);
  ASSERT_EQ(sim_.msr_log().back().msr, kMsrTimeRefCount);
  EXPECT_EQ(ns, sim_.msr_log().back().value * 100);
  EXPECT_EQ(CounterValue(hyperv::Counter::kRefCounterMsrReads), 1u);
  EXPECT_EQ(CounterValue(hyperv::Counter::kTscPageReads), 0u);

  TscPage()->sequence = 7;  // back in use
  (void)pvops_clock_ns();
  EXPECT_EQ(CounterValue(hyperv::Counter::kTscPageReads), 1u);
}

TEST_F(HvClockTest, ACounterThatFaultsAfterItsProbeIsCarriedOnByTheTsc) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  TscPage()->sequence = 0;
  const uint64_t before = pvops_clock_ns();  // from the MSR, remembered
  refused_msr_ = kMsrTimeRefCount;
  sim_.AdvanceTsc(kTscKhz * 1000);          // one second
  const uint64_t after = pvops_clock_ns();  // a plain rdmsr would fail the test here
  EXPECT_EQ(CounterValue(hyperv::Counter::kRefCounterMsrFaults), 1u);
  EXPECT_GE(after - before, 1'000'000'000u);
  EXPECT_LE(after - before, 1'001'000'000u);
  refused_msr_ = 0;  // the counter answers again: time never goes back
  EXPECT_GE(pvops_clock_ns(), after);
}

TEST_F(HvClockTest, ACounterThatFaultsRightAfterItsProbeLeavesNoPage) {
  int reads = 0;
  sim_.HandleMsrs(
      kMsrTimeRefCount, kMsrTimeRefCount,
      [&](uint32_t) -> std::optional<uint64_t> {
        if (reads++ == 0) return ReferenceNow();
        return std::nullopt;
      },
      nullptr);
  ASSERT_EQ(BootHyperV(), PVOPS_OK);  // a plain rdmsr would fail the test here
  EXPECT_THAT(std::string(Info().notes), HasSubstr("HV_X64_MSR_TIME_REF_COUNT faults"));
  EXPECT_EQ(Info().features[3] & kPathTscPageClock, 0u);
  EXPECT_EQ(reference_tsc_msr_ & kMsrPageEnable, 0u) << "the page is given back";
}

TEST_F(HvClockTest, APageInvalidAtBootIsKeptAndUsedOnceTheHypervisorFillsIt) {
  tsc_page_script_.sequence = 0;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_THAT(Info().notes, HasSubstr("TSC page not valid yet (sequence 0)"));
  EXPECT_NE(reference_tsc_msr_ & 1, 0u);
  (void)pvops_clock_ns();
  EXPECT_EQ(CounterValue(hyperv::Counter::kRefCounterMsrReads), 1u);
  TscPage()->scale = ~uint64_t{0} / kTscTicksPer100ns;
  TscPage()->sequence = 1;
  (void)pvops_clock_ns();
  EXPECT_EQ(CounterValue(hyperv::Counter::kTscPageReads), 1u);
}

// A page whose sequence reads from a script, to change it in the middle of a read.
struct ScriptedPage {
  std::vector<uint32_t> sequences;
  size_t next = 0;
  uint64_t scale_value = uint64_t{1} << 63;  // time = tsc / 2
  int64_t offset_value = 1000;
  uint32_t sequence() { return sequences[next < sequences.size() ? next++ : sequences.size() - 1]; }
  uint64_t scale() const { return scale_value; }
  int64_t offset() const { return offset_value; }
};

TEST_F(HvClockTest, AReadIsRetriedWhileTheSequenceChanges) {
  sim_.SetTsc(1'000'000);
  sim_.SetTicksPerInstruction(0);
  ScriptedPage page{{4, 5, 5, 5}};  // changed during the first read, stable in the second
  uint64_t time = 0;
  ASSERT_TRUE(ReadReferenceTsc(page, &time));
  EXPECT_EQ(time, 1'000'000 / 2 + 1000u);
  EXPECT_EQ(page.next, 4u);
  EXPECT_EQ(CounterValue(core::Counter::kClockRetries), 1u);
}

TEST_F(HvClockTest, APageThatNeverSettlesIsGivenUp) {
  ScriptedPage page;
  for (uint32_t i = 1; i <= 2 * (kMaxTscPageRetries + 2); ++i) page.sequences.push_back(i);
  uint64_t time = 42;
  EXPECT_FALSE(ReadReferenceTsc(page, &time));
  EXPECT_EQ(time, 42u);
  EXPECT_EQ(CounterValue(core::Counter::kClockRetries), kMaxTscPageRetries + 1);
}

TEST_F(HvClockTest, SequenceZeroAndAZeroScaleAreNotTime) {
  ScriptedPage invalid{{0}};
  uint64_t time = 42;
  EXPECT_FALSE(ReadReferenceTsc(invalid, &time));
  ScriptedPage no_scale{{3, 3}};
  no_scale.scale_value = 0;
  EXPECT_FALSE(ReadReferenceTsc(no_scale, &time));
  EXPECT_EQ(time, 42u);
}

TEST_F(HvClockTest, APageThatDisagreesWithTheCounterIsRefusedAtBoot) {
  tsc_page_script_.offset = 10'000'000;  // one second ahead of TIME_REF_COUNT
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_THAT(Info().notes, HasSubstr("TSC page time"));
  EXPECT_EQ(reference_tsc_msr_, 0u) << "disabled again";
  EXPECT_EQ(Info().features[3] & (kPathTscPageClock | kPathRefCounterClock), 0u);
  EXPECT_EQ(pvops_table.time.clock_ns, StatedTscClockNs);
  EXPECT_EQ(pvops_table.irq.timer_oneshot, hw::LapicTimerOneshot);
}

// On KVM nested under TCG a clock read by TIME_REF_COUNT alone cost ~130 us (one exit each), so
// without the page the clock is the TSC at the frequency the hypervisor states.
TEST_F(HvClockTest, WithoutTheTscPageTheClockIsTheTscAtTheStatedFrequency) {
  hv_.privileges &= ~kPrivReferenceTsc;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_THAT(
      Info().notes,
      HasSubstr("no reference TSC page privilege: clock from the TSC at HV_X64_MSR_TSC_FREQUENCY"));
  EXPECT_EQ(pvops_table.time.clock_ns, StatedTscClockNs);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz);
  EXPECT_EQ(Info().features[3] & (kPathTscPageClock | kPathRefCounterClock), 0u);
  EXPECT_NE(Info().features[3] & kPathStatedTscClock, 0u);
  sim_.SetTicksPerInstruction(0);
  sim_.SetTsc(kTscKhz * 5'000);  // 5 s of ticks
  sim_.ResetExits();
  EXPECT_EQ(pvops_clock_ns(), 5'000'000'000u);
  EXPECT_EQ(sim_.exits(Exit::kRdmsr), 0u);
  EXPECT_EQ(CounterValue(hyperv::Counter::kRefCounterMsrReads), 0u);
  EXPECT_EQ(pvops_table.irq.timer_oneshot, hw::LapicTimerOneshot)
      << "synthetic timers count reference time, which the clock does not read";
}

TEST_F(HvClockTest, WithNeitherPageNorStatedFrequencyTheClockStaysNative) {
  hv_.privileges &= ~(kPrivReferenceTsc | kPrivFrequencyMsrs);
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_THAT(Info().notes, HasSubstr("no reference TSC page privilege: native clock"));
  EXPECT_EQ(pvops_table.time.clock_ns, hw::TscClockNs);
  EXPECT_EQ(pvops_table.time.tsc_khz, hw::TscKhz);
  EXPECT_EQ(Info().features[3] & (kPathTscPageClock | kPathRefCounterClock | kPathStatedTscClock),
            0u);
}

TEST_F(HvClockTest, TheClockNeverGoesBackWhenTheSourceChanges) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  TscPage()->offset = 5000;  // the page runs 0.5 ms ahead of the MSR
  const uint64_t from_page = pvops_clock_ns();
  TscPage()->sequence = 0;
  const uint64_t from_msr = pvops_clock_ns();
  EXPECT_GE(from_msr, from_page);
}

TEST_F(HvClockTest, TscKhzComesFromTheFrequencyMsr) {
  tsc_frequency_hz_ = 2'345'678'901;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_tsc_khz(), 2'345'678u);
  EXPECT_NE(Info().features[3] & kPathFrequencyMsrs, 0u);
}

TEST_F(HvClockTest, WithoutTheFrequencyPrivilegeTscKhzComesFromThePageScale) {
  hv_.privileges &= ~kPrivFrequencyMsrs;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz);
  for (const sim::MsrAccess& a : sim_.msr_log()) EXPECT_NE(a.msr, kMsrTscFrequency);
}

TEST_F(HvClockTest, AnInsaneFrequencyIsNotBelieved) {
  tsc_frequency_hz_ = 5;  // 5 Hz
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz) << "the page scale instead";
  EXPECT_THAT(Info().notes, HasSubstr("HV_X64_MSR_TSC_FREQUENCY says 5 Hz"));
}

TEST_F(HvClockTest, WithoutTheReferenceCounterNoPageIsRegistered) {
  hv_.privileges &= ~kPrivTimeRefCount;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(reference_tsc_msr_, 0u) << "a page without its fallback is not registered";
  EXPECT_EQ(pvops_table.time.clock_ns, StatedTscClockNs);
  EXPECT_EQ(pvops_table.irq.timer_oneshot, hw::LapicTimerOneshot)
      << "synthetic timers count reference time, which the clock does not read";
}

}  // namespace
}  // namespace pvops::test
