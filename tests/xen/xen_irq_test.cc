// SPDX-License-Identifier: MIT
// Interrupts on Xen PV: the upcall mask as the interrupt flag, the event callback scanning the
// 2-level pending bitmaps, IPIs over per-(CPU, vector) IPI ports, and the one-shot timer on
// VIRQ_TIMER after the default periodic timer is stopped.
#include <gtest/gtest.h>
#include <stddef.h>

#include <xen/errno.h>

#include "fake_xen.h"

namespace pvops::test {
namespace {

using core::Counter;
using sim::Exit;

constexpr uint64_t kIf = 1u << 9;
constexpr uint8_t kVectorA = 0x40, kVectorB = 0x41, kTimerVector = 0x42;

struct Hit {
  uint32_t cpu;
  uint8_t vector;
};
std::vector<Hit>* g_hits;
sim::SimCpu* g_sim;
void Record(uint8_t vector, void*) { g_hits->push_back({g_sim->current_cpu(), vector}); }

class XenIrqTest : public XenPvTest {
 protected:
  void SetUp() override {
    g_hits = &hits_;
    g_sim = &sim_;
    ASSERT_EQ(BootPv(), PVOPS_OK);
    ClearRecords();
    sim_.ResetExits();
  }
  pvops_cpuset Set(std::initializer_list<uint32_t> cpus) {
    pvops_cpuset set;
    pvops_cpuset_clear(&set);
    for (uint32_t c : cpus) pvops_cpuset_add(&set, c);
    return set;
  }
  pvops_status Send(std::initializer_list<uint32_t> cpus, uint8_t vector) {
    const pvops_cpuset set = Set(cpus);
    return pvops_send_ipi(&set, vector);
  }
  std::vector<Hit> hits_;
};

TEST_F(XenIrqTest, TheUpcallMaskIsTheInterruptFlag) {
  EXPECT_EQ(Vcpu(0).evtchn_upcall_mask, 1) << "PV entry: events masked";
  EXPECT_EQ(pvops_save_flags() & kIf, 0u);
  pvops_irq_enable();
  EXPECT_EQ(Vcpu(0).evtchn_upcall_mask, 0);
  EXPECT_EQ(pvops_save_flags() & kIf, kIf);
  const uint64_t outer = pvops_irq_save();
  EXPECT_EQ(outer & kIf, kIf);
  EXPECT_EQ(Vcpu(0).evtchn_upcall_mask, 1);
  const uint64_t inner = pvops_irq_save();
  EXPECT_EQ(inner & kIf, 0u);
  pvops_restore_flags(inner);
  EXPECT_EQ(Vcpu(0).evtchn_upcall_mask, 1) << "restoring an off state keeps them off";
  pvops_restore_flags(outer);
  EXPECT_EQ(Vcpu(0).evtchn_upcall_mask, 0);
  // Not one privileged instruction, not one hypercall: nothing was pending.
  EXPECT_EQ(sim_.exits(Exit::kCli) + sim_.exits(Exit::kSti) + sim_.exits(Exit::kSaveFlags) +
                sim_.exits(Exit::kRestoreFlags),
            0u);
  EXPECT_TRUE(calls_.empty());
  // Another CPU's mask is its own.
  OnlinePvCpus(2);
  EXPECT_EQ(Vcpu(1).evtchn_upcall_mask, 1);
}

// The irq ops in every order a kernel uses them, with nothing pending: of the whole shared_info
// page only vcpu 0's upcall mask byte ever changes, and Xen hears nothing.
TEST_F(XenIrqTest, IrqOpsWriteOnlyTheUpcallMaskByte) {
  const auto* page = reinterpret_cast<const unsigned char*>(&Shared());
  const size_t mask_at = offsetof(shared_info, vcpu_info[0].evtchn_upcall_mask);
  std::vector<unsigned char> before(page, page + sizeof(shared_info));
  const uint64_t hypercalls = core::CounterValue(Counter::kHypercalls);
  auto changed_elsewhere = [&] {
    std::vector<size_t> at;
    for (size_t i = 0; i < sizeof(shared_info); ++i)
      if (i != mask_at && page[i] != before[i]) at.push_back(i);
    return at;
  };
  pvops_irq_enable();
  EXPECT_EQ(page[mask_at], 0);
  const uint64_t outer = pvops_irq_save();
  EXPECT_EQ(page[mask_at], 1);
  pvops_restore_flags(pvops_irq_save());  // nested: stays masked
  EXPECT_EQ(page[mask_at], 1);
  pvops_restore_flags(outer);
  EXPECT_EQ(page[mask_at], 0);
  pvops_restore_flags(outer);  // enabled again while enabled
  EXPECT_EQ(pvops_save_flags() & kIf, kIf);
  pvops_irq_disable();
  pvops_restore_flags(0);
  EXPECT_EQ(page[mask_at], 1);
  EXPECT_EQ(changed_elsewhere(), std::vector<size_t>{});
  EXPECT_TRUE(calls_.empty()) << calls_.size() << " hypercalls, first nr " << calls_[0].nr;
  EXPECT_EQ(core::CounterValue(Counter::kHypercalls), hypercalls);
  EXPECT_EQ(sim_.total_exits(), 0u) << "not one privileged instruction either";
}

TEST_F(XenIrqTest, EnablingWithAnEventPendingForcesTheUpcall) {
  ASSERT_EQ(pvops_register_handler(kVectorA, Record, nullptr), PVOPS_OK);
  ASSERT_EQ(Send({0}, kVectorA), PVOPS_OK);
  EXPECT_TRUE(hits_.empty()) << "masked: the event waits";
  EXPECT_EQ(Vcpu(0).evtchn_upcall_pending, 1);
  ClearRecords();
  pvops_irq_enable();
  // One cheap hypercall so Xen delivers on its way back (Linux's xen_force_evtchn_callback).
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].nr, uint32_t{__HYPERVISOR_xen_version});
  ASSERT_EQ(hits_.size(), 1u);
  EXPECT_EQ(hits_[0].vector, kVectorA);
  EXPECT_EQ(hits_[0].cpu, 0u);
  EXPECT_EQ(Vcpu(0).evtchn_upcall_pending, 0);
  EXPECT_EQ(Vcpu(0).evtchn_pending_sel, 0u);
  EXPECT_EQ(xen::kCounters.Value(xen::Counter::kEventUpcalls), 1u);
}

TEST_F(XenIrqTest, IpiPortsAreBoundOncePerCpuAndVector) {
  OnlinePvCpus(2);
  ASSERT_EQ(pvops_register_handler(kVectorA, Record, nullptr), PVOPS_OK);
  ASSERT_EQ(pvops_register_handler(kVectorB, Record, nullptr), PVOPS_OK);
  const size_t ports_before = ports_.size();
  ASSERT_EQ(Send({1}, kVectorA), PVOPS_OK);
  ASSERT_EQ(Send({1}, kVectorA), PVOPS_OK);
  ASSERT_EQ(Send({1}, kVectorB), PVOPS_OK);
  EXPECT_EQ(ports_.size(), ports_before + 2) << "(1, A) and (1, B)";
  ASSERT_EQ(sent_ports_.size(), 3u);
  EXPECT_EQ(sent_ports_[0], sent_ports_[1]);
  EXPECT_NE(sent_ports_[0], sent_ports_[2]);
  EXPECT_EQ(ports_.at(sent_ports_[0]).vcpu, 1u);
  EXPECT_EQ(ports_.at(sent_ports_[0]).kind, FakePort::kIpi);
  EXPECT_EQ(core::CounterValue(Counter::kIpisSent), 3u);
  EXPECT_EQ(core::CounterValue(Counter::kIpiHypercalls), 3u);
  // CPU 1 takes them when Xen runs its callback: A once (the second send found it pending), B.
  sim_.RunOnCpu(1, [] { pvops_irq_enable(); });
  DeliverUpcalls(1);
  ASSERT_EQ(hits_.size(), 2u);
  EXPECT_EQ(hits_[0].cpu, 1u);
  EXPECT_EQ(hits_[1].cpu, 1u);
  EXPECT_TRUE((hits_[0].vector == kVectorA && hits_[1].vector == kVectorB) ||
              (hits_[0].vector == kVectorB && hits_[1].vector == kVectorA));
}

TEST_F(XenIrqTest, OfflineTargetsAndExceptionVectorsAreRefused) {
  EXPECT_EQ(Send({1}, kVectorA), PVOPS_ERR_INVALID);
  EXPECT_EQ(Send({0}, 14), PVOPS_ERR_INVALID);
  EXPECT_TRUE(sent_ports_.empty());
}

TEST_F(XenIrqTest, TheCallbackDispatchesOnlyThisVcpusUnmaskedPorts) {
  OnlinePvCpus(2);
  ASSERT_EQ(pvops_register_handler(kVectorA, Record, nullptr), PVOPS_OK);
  ASSERT_EQ(Send({1}, kVectorA), PVOPS_OK);  // binds (1, A), pending for vCPU 1
  const uint32_t port1 = sent_ports_.back();
  ASSERT_EQ(Send({0}, kVectorA), PVOPS_OK);  // binds (0, A), pending for vCPU 0
  const uint32_t port0 = sent_ports_.back();
  // vCPU 0's callback: both ports may share a pending word; only port0 is vCPU 0's.
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  ASSERT_EQ(hits_.size(), 1u);
  EXPECT_EQ(hits_[0].cpu, 0u);
  EXPECT_EQ(Shared().evtchn_pending[port0 / 64] & (xen_ulong_t{1} << (port0 % 64)), 0u);
  EXPECT_NE(Shared().evtchn_pending[port1 / 64] & (xen_ulong_t{1} << (port1 % 64)), 0u)
      << "vCPU 1's port stays pending for vCPU 1";
  // A masked port is not dispatched even when its bit is pending.
  hits_.clear();
  Shared().evtchn_mask[port0 / 64] |= xen_ulong_t{1} << (port0 % 64);
  Shared().evtchn_pending[port0 / 64] |= xen_ulong_t{1} << (port0 % 64);
  Vcpu(0).evtchn_pending_sel = xen_ulong_t{1} << (port0 / 64);
  Vcpu(0).evtchn_upcall_pending = 1;
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  EXPECT_TRUE(hits_.empty());
  // vCPU 1's own callback takes its port.
  sim_.RunOnCpu(1, [] { pvops_xen_event_upcall(); });
  ASSERT_EQ(hits_.size(), 1u);
  EXPECT_EQ(hits_[0].cpu, 1u);
}

TEST_F(XenIrqTest, ThePeriodicTimerIsStoppedAndVirqTimerBoundPerCpu) {
  OnlinePvCpus(2);
  EXPECT_EQ(periodic_stops_, std::vector<uint32_t>{1});
  EXPECT_NE(PortOf(FakePort::kVirq, 1, VIRQ_TIMER), 0u);
  EXPECT_NE(PortOf(FakePort::kVirq, 1, VIRQ_TIMER), PortOf(FakePort::kVirq, 0, VIRQ_TIMER));
}

TEST_F(XenIrqTest, OneShotTimerFiresOnceAtItsDeadline) {
  ASSERT_EQ(pvops_register_handler(kTimerVector, Record, nullptr), PVOPS_OK);
  const uint64_t deadline = pvops_clock_ns() + 1'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, kTimerVector), PVOPS_OK);
  ASSERT_EQ(singleshots_.size(), 1u);
  EXPECT_EQ(singleshots_[0].first, 0u);
  EXPECT_EQ(singleshots_[0].second, deadline) << "system time is the clock's own timeline";
  const uint32_t timer_port = PortOf(FakePort::kVirq, 0, VIRQ_TIMER);

  // Xen fires a little early by this vCPU's clock: no handler yet, the timer is re-armed for
  // the rest (core/oneshot.h).
  RaiseEvent(timer_port);
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  EXPECT_TRUE(hits_.empty());
  ASSERT_EQ(singleshots_.size(), 2u);
  EXPECT_EQ(singleshots_[1].second, deadline);

  sim_.AdvanceTsc(2 * 1'000'000 * 2);  // 2 ms at 2 GHz
  RaiseEvent(timer_port);
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  ASSERT_EQ(hits_.size(), 1u);
  EXPECT_EQ(hits_[0].vector, kTimerVector);
  // A stray second VIRQ_TIMER finds nothing armed.
  RaiseEvent(timer_port);
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  EXPECT_EQ(hits_.size(), 1u);
  EXPECT_EQ(core::CounterValue(Counter::kTimerArms), 2u);
  EXPECT_EQ(core::CounterValue(Counter::kTimerEarlyRearms), 1u);
}

// Seen on Xen 4.17 PVH under TCG: VIRQ_TIMER kept coming while this vCPU's clock stayed short
// of the deadline (214 re-arms in 1.2 s, the vCPU never halted). After the first re-arm for the
// rest, each must lie further past the deadline, so Xen's timer is not already due and the
// vCPU can block in between.
TEST_F(XenIrqTest, EarlyTimerEventsReArmFurtherOutEachTime) {
  ASSERT_EQ(pvops_register_handler(kTimerVector, Record, nullptr), PVOPS_OK);
  const uint64_t deadline = pvops_clock_ns() + 1'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, kTimerVector), PVOPS_OK);
  const uint32_t timer_port = PortOf(FakePort::kVirq, 0, VIRQ_TIMER);
  for (int i = 0; i < 20; ++i) {
    RaiseEvent(timer_port);
    sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  }
  EXPECT_TRUE(hits_.empty());
  ASSERT_EQ(singleshots_.size(), 21u);
  EXPECT_EQ(singleshots_[1].second, deadline);
  EXPECT_EQ(singleshots_[2].second, deadline + 100'000);
  EXPECT_EQ(singleshots_[3].second, deadline + 200'000);
  EXPECT_EQ(singleshots_[4].second, deadline + 400'000);
  for (size_t i = 2; i < singleshots_.size(); ++i)
    EXPECT_GE(singleshots_[i].second, singleshots_[i - 1].second);
  EXPECT_EQ(singleshots_.back().second, deadline + (uint64_t{100'000} << 12)) << "capped";
  // A new arming starts the steps over.
  ASSERT_EQ(pvops_timer_oneshot(deadline, kTimerVector), PVOPS_OK);
  RaiseEvent(timer_port);
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  RaiseEvent(timer_port);
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  EXPECT_EQ(singleshots_.back().second, deadline + 100'000);
  // Once the clock shows the deadline, the handler runs.
  sim_.AdvanceTsc(2 * 1'000'000 * 2);
  RaiseEvent(timer_port);
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  EXPECT_EQ(hits_.size(), 1u);
}

TEST_F(XenIrqTest, CancellingStopsTheTimerAndDropsALateEvent) {
  ASSERT_EQ(pvops_register_handler(kTimerVector, Record, nullptr), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1000, kTimerVector), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(0, kTimerVector), PVOPS_OK);
  EXPECT_EQ(singleshot_stops_, std::vector<uint32_t>{0});
  sim_.AdvanceTsc(1'000'000);
  RaiseEvent(PortOf(FakePort::kVirq, 0, VIRQ_TIMER));
  sim_.RunOnCpu(0, [] { pvops_xen_event_upcall(); });
  EXPECT_TRUE(hits_.empty());
  EXPECT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1000, 3), PVOPS_ERR_INVALID);
}

TEST_F(XenIrqTest, EventsNeedNoEoiAndHaltsAreSchedOps) {
  pvops_eoi();
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(sim_.total_exits(), 0u);
  pvops_halt();  // masked: a poll on no port, which any event ends, keeps events masked
  ASSERT_EQ(polls_.size(), 1u);
  EXPECT_EQ(polls_[0].nr_ports, 0u);
  EXPECT_EQ(Vcpu(0).evtchn_upcall_mask, 1);
  pvops_safe_halt();  // SCHEDOP_block unmasks atomically
  EXPECT_EQ(blocks_.size(), 1u);
  EXPECT_EQ(sim_.exits(Exit::kHlt), 0u);
}

}  // namespace
}  // namespace pvops::test
