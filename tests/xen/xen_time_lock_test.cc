// SPDX-License-Identifier: MIT
// Time from vcpu_time_info and shared_info's wall clock, steal time from the runstate area, and
// the lock's SCHEDOP_poll wait on a masked kick port.
#include <gtest/gtest.h>
#include <string.h>

#include <xen/errno.h>

#include "fake_xen.h"

namespace pvops::test {
namespace {

using core::Counter;

class XenTimeTest : public XenPvTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(BootPv(), PVOPS_OK);
    ClearRecords();
  }
};

TEST_F(XenTimeTest, ClockIsThePvclockOfThisVcpu) {
  // The fake's tuple: system time = TSC / 2 (a 2 GHz TSC), stamped at TSC 0.
  sim_.SetTsc(4'000'000'000);
  const uint64_t ns = pvops_clock_ns();
  EXPECT_GE(ns, 2'000'000'000u);
  EXPECT_LE(ns, 2'000'001'000u);
  EXPECT_EQ(pvops_tsc_khz(), 2'000'000u);
  // A newer tuple (Xen re-stamped it) is followed.
  Vcpu(0).time.version = 4;
  Vcpu(0).time.system_time = 10'000'000'000;
  Vcpu(0).time.tsc_timestamp = 4'000'000'000;
  const uint64_t after = pvops_clock_ns();
  EXPECT_GE(after, 10'000'000'000u);
  EXPECT_LE(after, 10'000'001'000u);
  EXPECT_TRUE(calls_.empty()) << "no entry into Xen to read the clock";
}

TEST_F(XenTimeTest, WallClockIsSharedInfosPlusSystemTime) {
  sim_.SetTsc(3'000'000'000);  // 1.5 s of system time
  Shared().wc_sec = 5;
  Shared().wc_sec_hi = 1;  // 2^32 + 5 seconds: past 2106
  Shared().wc_nsec = 600'000'000;
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, (uint64_t{1} << 32) + 5 + 2);
  EXPECT_GE(wc.nsec, 100'000'000u);
  EXPECT_LT(wc.nsec, 100'010'000u);

  Shared().wc_nsec = 1'000'000'000;
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
  Shared().wc_nsec = 0;
  Shared().wc_version = 3;  // an update that never finishes
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BUSY);
  Shared().wc_version = 0;  // never written
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
}

TEST_F(XenTimeTest, StealAndPreemptionComeFromTheRunstateArea) {
  ASSERT_EQ(runstate_areas_.count(0), 1u);
  auto* area = reinterpret_cast<vcpu_runstate_info*>(runstate_areas_.at(0));
  area->state = RUNSTATE_running;
  area->state_entry_time = 1000;
  area->time[RUNSTATE_running] = 50'000;
  area->time[RUNSTATE_runnable] = 700;
  area->time[RUNSTATE_blocked] = 9'000;
  area->time[RUNSTATE_offline] = 20;
  EXPECT_EQ(pvops_steal_ns(0), 720u);
  EXPECT_EQ(pvops_vcpu_is_preempted(0), 0);
  area->state = RUNSTATE_runnable;
  EXPECT_EQ(pvops_vcpu_is_preempted(0), 1);
  // Mid-update (Xen's update flag) the area is not believed.
  area->state_entry_time = 1000 | XEN_RUNSTATE_UPDATE;
  EXPECT_EQ(pvops_steal_ns(0), 0u);
  // A CPU that never registered has no steal to report.
  EXPECT_EQ(pvops_steal_ns(5), 0u);
  EXPECT_EQ(pvops_vcpu_is_preempted(5), 0);
}

class XenLockTest : public XenTimeTest {};

// The per-CPU rule (core/backend.h) on PV: a vCPU whose tuple Xen left unfilled comes up on the
// boot CPU's clock with its events bound; one whose events Xen refuses cannot take an
// interrupt any other way, so it stays down, and the notes say why.
TEST_F(XenTimeTest, ACpuWhoseTupleIsUnfilledReadsTheBootCpusClock) {
  Vcpu(1).time = vcpu_time_info{};
  ASSERT_EQ(OnlineCpu(1), PVOPS_OK);
  const char* notes = pvops_get_info()->notes;
  EXPECT_NE(strstr(notes, "cpu 1 xen clock: "), nullptr) << notes;
  sim_.SetTsc(4'000'000'000);  // the boot tuple: system time = TSC / 2
  uint64_t ns = 0;
  sim_.RunOnCpu(1, [&] { ns = pvops_clock_ns(); });
  EXPECT_GE(ns, 2'000'000'000u);
  EXPECT_LE(ns, 2'000'001'000u);
  EXPECT_NE(PortOf(FakePort::kVirq, 1, VIRQ_TIMER), 0u);
  EXPECT_EQ(runstate_areas_.count(1), 1u);
}

TEST_F(XenTimeTest, ACpuWhoseEventsAreRefusedStaysDownWithItsReason) {
  answer_ = [](const XenCall& call) -> int64_t {
    return call.nr == __HYPERVISOR_event_channel_op && call.args[0] == EVTCHNOP_bind_virq
               ? -XEN_ENOSPC
               : kFallThrough;
  };
  EXPECT_EQ(OnlineCpu(1), PVOPS_ERR_NO_RESOURCE);
  const char* notes = pvops_get_info()->notes;
  EXPECT_NE(strstr(notes, "cpu 1 events: "), nullptr) << notes;
  EXPECT_EQ(runstate_areas_.count(1), 1u) << "a feature after the refused one";
}

TEST_F(XenLockTest, WaitPollsItsOwnMaskedKickPort) {
  const uint32_t kick = PortOf(FakePort::kIpi, 0);
  ASSERT_NE(kick, 0u);
  EXPECT_NE(Shared().evtchn_mask[kick / 64] & (xen_ulong_t{1} << (kick % 64)), 0u)
      << "masked: a kick ends the poll without an upcall";
  volatile uint8_t byte = 0;
  sim_.SetTsc(2'000'000);  // 1 ms of system time
  pvops_lock_wait(&byte, 0);
  ASSERT_EQ(polls_.size(), 1u);
  EXPECT_EQ(polls_[0].nr_ports, 1u);
  EXPECT_EQ(poll_first_port_[0], kick);
  EXPECT_GT(polls_[0].timeout, 1'000'000u + 99'000'000u) << "bounded: about 100 ms from now";
  EXPECT_LT(polls_[0].timeout, 1'000'000u + 101'000'000u);
  // The value already changed: no sleep at all.
  byte = 1;
  pvops_lock_wait(&byte, 0);
  EXPECT_EQ(polls_.size(), 1u);
  EXPECT_EQ(core::CounterValue(Counter::kLockWaits), 2u);
}

TEST_F(XenLockTest, AKickBeforeThePollIsNotLost) {
  OnlinePvCpus(2);
  const uint32_t kick1 = PortOf(FakePort::kIpi, 1);
  pvops_lock_kick(1);
  ASSERT_EQ(sent_ports_, std::vector<uint32_t>{kick1});
  // CPU 1 clears the old pending bit *before* it re-checks the value, so a kick that comes
  // after the clear stays pending for the poll, which then returns at once in Xen.
  bool pending_at_poll = true;
  answer_ = [&](const XenCall& c) -> int64_t {
    if (c.nr == __HYPERVISOR_sched_op && c.args[0] == SCHEDOP_poll)
      pending_at_poll = (Shared().evtchn_pending[kick1 / 64] >> (kick1 % 64)) & 1;
    return kFallThrough;
  };
  volatile uint8_t byte = 0;
  sim_.RunOnCpu(1, [&] { pvops_lock_wait(&byte, 0); });
  ASSERT_EQ(polls_.size(), 1u);
  EXPECT_FALSE(pending_at_poll) << "the stale kick was cleared before the value was re-read";
  EXPECT_EQ(core::CounterValue(Counter::kLockKicks), 1u);
  pvops_lock_kick(7);  // never online: nothing sent
  EXPECT_EQ(sent_ports_.size(), 1u);
}

}  // namespace
}  // namespace pvops::test
