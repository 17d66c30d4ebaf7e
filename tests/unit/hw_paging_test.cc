// SPDX-License-Identifier: MIT
// The hardware mmu ops: control registers, page-table entries as plain memory, local flushes, and
// the cross-CPU shootdown (IPI on core::kVectorTlbFlush, acknowledged per CPU, bounded wait).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <asm/processor-flags.h>

#include "bare_metal_machine.h"
#include "hw/paging.h"

namespace pvops::test {
namespace {

using sim::Exit;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The invlpg addresses one CPU executed.
std::vector<uint64_t> InvlpgsOn(const sim::SimCpu& sim, uint32_t cpu) {
  std::vector<uint64_t> vas;
  for (const sim::CpuEvent& e : sim.invlpgs()) {
    if (e.cpu == cpu) vas.push_back(e.value);
  }
  return vas;
}

class PagingTest : public BareMetalMachineTest {
 protected:
  void SetUp() override {
    Boot();
    sim_.ResetExits();
    sim_.ClearLogs();
  }
};

TEST_F(PagingTest, Cr3ReadAndWriteAreTheInstructions) {
  sim_.SetCr3(0x1000);
  EXPECT_EQ(pvops_read_cr3(), 0x1000u);
  pvops_write_cr3(0x2000);
  EXPECT_EQ(sim_.cr3(), 0x2000u);
  ASSERT_EQ(sim_.cr3_writes().size(), 1u);
  EXPECT_EQ(sim_.cr3_writes()[0].value, 0x2000u);
}

TEST_F(PagingTest, PteOpsAreMemoryAccessesWithoutExits) {
  pvops_pte table[4] = {};
  pvops_set_pte(&table[1], 0x5003);
  pvops_update_pte(&table[2], 0x7000, 0x6003);
  EXPECT_EQ(table[1], 0x5003u);
  EXPECT_EQ(table[2], 0x6003u);
  EXPECT_EQ(pvops_read_pte(&table[2]), 0x6003u);
  EXPECT_EQ(pvops_alloc_pt(0x1234, 1), PVOPS_OK);
  EXPECT_EQ(pvops_release_pt(0x1234, 1), PVOPS_OK);
  {
    LazyMmu batch;  // natively applied at once: the entry is visible inside the batch
    pvops_set_pte(&table[3], 0x8003);
    EXPECT_EQ(table[3], 0x8003u);
    LazyMmuFlush();
  }
  EXPECT_EQ(sim_.total_exits(), 0u);
}

TEST_F(PagingTest, LocalFlushReloadsCr3) {
  sim_.SetCr3(0x3000);
  pvops_flush_tlb_local();
  ASSERT_EQ(sim_.cr3_writes().size(), 1u);
  EXPECT_EQ(sim_.cr3_writes()[0].value, 0x3000u);
  EXPECT_TRUE(sim_.invlpgs().empty());
}

TEST_F(PagingTest, FlushOneIsInvlpg) {
  pvops_flush_tlb_one(0xffff800000123000);
  ASSERT_EQ(sim_.invlpgs().size(), 1u);
  EXPECT_EQ(sim_.invlpgs()[0].value, 0xffff800000123000u);
}

TEST_F(PagingTest, MultiOnThisCpuOnlyFlushesEachPageOfASmallRange) {
  ASSERT_EQ(FlushTlbMulti(CpuSet::Only(0), 0x10000, 0x12800), Status(PVOPS_OK));
  EXPECT_THAT(InvlpgsOn(sim_, 0), ElementsAre(0x10000u, 0x11000u, 0x12000u));
  EXPECT_TRUE(lapic_.sent().empty());
}

TEST_F(PagingTest, MultiOfALargeRangeFlushesEverythingIncludingGlobalPages) {
  sim_.SetCr4(X86_CR4_PAE | X86_CR4_PGE);
  ASSERT_EQ(FlushTlbMulti(CpuSet::Only(0), 0, (hw::kMaxInvlpgPages + 1) * 4096), Status(PVOPS_OK));
  EXPECT_TRUE(sim_.invlpgs().empty());
  ASSERT_EQ(sim_.cr4_writes().size(), 2u);
  EXPECT_EQ(sim_.cr4_writes()[0].value, uint64_t{X86_CR4_PAE});
  EXPECT_EQ(sim_.cr4_writes()[1].value, uint64_t{X86_CR4_PAE | X86_CR4_PGE});
}

TEST_F(PagingTest, MultiOfEverythingWithoutGlobalPagesReloadsCr3) {
  sim_.SetCr3(0x4000);
  sim_.SetCr4(X86_CR4_PAE);
  ASSERT_EQ(FlushTlbMulti(CpuSet::Only(0), 0, 0), Status(PVOPS_OK));
  EXPECT_TRUE(sim_.cr4_writes().empty());
  ASSERT_EQ(sim_.cr3_writes().size(), 1u);
  EXPECT_EQ(sim_.cr3_writes()[0].value, 0x4000u);
}

TEST_F(PagingTest, MultiRefusesABackwardRangeAndOfflineCpus) {
  EXPECT_EQ(FlushTlbMulti(CpuSet::Only(0), 0x5000, 0x4000), Status(PVOPS_ERR_INVALID));
  EXPECT_EQ(FlushTlbMulti(CpuSet::Only(3), 0x4000, 0x5000), Status(PVOPS_ERR_INVALID));
  EXPECT_EQ(pvops_flush_tlb_multi(nullptr, 0, 0), PVOPS_ERR_INVALID);
  EXPECT_TRUE(sim_.invlpgs().empty());
  EXPECT_TRUE(lapic_.sent().empty());
}

class TlbShootdownTest : public PagingTest {
 protected:
  void SetUp() override {
    PagingTest::SetUp();
    OnlineCpus(4);
    sim_.ClearLogs();
  }
};

TEST_F(TlbShootdownTest, TheFlushVectorIsRoutedAtInit) {
  EXPECT_NE(core::GetIrqHandler(core::kVectorTlbFlush).fn, nullptr);
}

TEST_F(TlbShootdownTest, RemoteCpusFlushTheRangeInTheirHandlerAndAcknowledge) {
  DeliverIpisAtOnce();
  CpuSet set;
  set.Add(0);
  set.Add(2);
  set.Add(3);
  ASSERT_EQ(FlushTlbMulti(set, 0x20000, 0x22000), Status(PVOPS_OK));
  EXPECT_THAT(InvlpgsOn(sim_, 0), ElementsAre(0x20000u, 0x21000u));  // the caller, directly
  EXPECT_THAT(InvlpgsOn(sim_, 2), ElementsAre(0x20000u, 0x21000u));
  EXPECT_THAT(InvlpgsOn(sim_, 3), ElementsAre(0x20000u, 0x21000u));
  EXPECT_THAT(InvlpgsOn(sim_, 1), IsEmpty());
  ASSERT_EQ(lapic_.sent().size(), 2u);
  EXPECT_EQ(lapic_.sent()[0].destination, 2u);
  EXPECT_EQ(lapic_.sent()[1].destination, 3u);
  for (const sim::SentIpi& ipi : lapic_.sent()) EXPECT_EQ(ipi.vector(), core::kVectorTlbFlush);
  EXPECT_EQ(lapic_.eoi_count(2), 1u);
  EXPECT_EQ(lapic_.eoi_count(3), 1u);
  EXPECT_EQ(lapic_.eoi_count(0), 0u);
  EXPECT_EQ(core::CounterValue(core::Counter::kTlbFlushRemote), 2u);
}

TEST_F(TlbShootdownTest, TheCallerWaitsForALateAcknowledgement) {
  QueueIpis();
  int spins = 0;
  sim_.OnPause([&] {
    if (++spins == 50) DeliverQueued();
  });
  ASSERT_EQ(FlushTlbMulti(CpuSet::Only(1), 0x30000, 0x31000), Status(PVOPS_OK));
  EXPECT_EQ(spins, 50);  // it returned only once CPU 1 had flushed
  EXPECT_THAT(InvlpgsOn(sim_, 1), ElementsAre(0x30000u));
}

TEST_F(TlbShootdownTest, ACpuThatNeverAnswersTimesOutAfterBeingNudged) {
  QueueIpis();  // and never delivered
  EXPECT_EQ(FlushTlbMulti(CpuSet::Only(1), 0x30000, 0x31000), Status(PVOPS_ERR_TIMEOUT));
  // One IPI, then one more every 10 ms of the one-second wait.
  EXPECT_GE(lapic_.sent().size(), 90u);
  EXPECT_LE(lapic_.sent().size(), 101u);
  EXPECT_THAT(InvlpgsOn(sim_, 1), IsEmpty());
}

TEST_F(TlbShootdownTest, RequestsThatMeetInAMailboxAreMergedIntoOneFlush) {
  QueueIpis();
  bool nested = false;
  sim_.OnPause([&] {
    if (!nested) {
      // While CPU 0 waits for CPU 1, CPU 2 asks CPU 1 for another range; then CPU 1 wakes.
      nested = true;
      sim_.RunOnCpu(
          2, [] { EXPECT_EQ(FlushTlbMulti(CpuSet::Only(1), 0x50000, 0x51000), Status(PVOPS_OK)); });
    } else {
      DeliverQueued();
    }
  });
  ASSERT_EQ(FlushTlbMulti(CpuSet::Only(1), 0x40000, 0x41000), Status(PVOPS_OK));
  // The first handler run took both ranges; the second found nothing left to do.
  EXPECT_THAT(InvlpgsOn(sim_, 1),
              ElementsAre(0x40000u, 0x41000u, 0x42000u, 0x43000u, 0x44000u, 0x45000u, 0x46000u,
                          0x47000u, 0x48000u, 0x49000u, 0x4a000u, 0x4b000u, 0x4c000u, 0x4d000u,
                          0x4e000u, 0x4f000u, 0x50000u));
  EXPECT_EQ(lapic_.eoi_count(1), 2u);
}

TEST_F(TlbShootdownTest, AWaitingCpuServesItsOwnMailbox) {
  // CPU 0 asks CPU 1 to flush, but CPU 1 is itself waiting on CPU 2 with interrupts off, so
  // the IPI is never taken. CPU 1 must flush for CPU 0 from inside its own wait, or two CPUs
  // shooting at each other with interrupts off would both wait forever.
  QueueIpis();
  bool cpu1_started = false;
  sim_.OnPause([&] {
    if (cpu1_started) return;
    cpu1_started = true;
    sim_.RunOnCpu(1, [this] {
      sim_.SetInterruptsEnabled(false);
      EXPECT_EQ(FlushTlbMulti(CpuSet::Only(2), 0x70000, 0x71000), Status(PVOPS_ERR_TIMEOUT));
    });
  });
  ASSERT_EQ(FlushTlbMulti(CpuSet::Only(1), 0x60000, 0x61000), Status(PVOPS_OK));
  EXPECT_THAT(InvlpgsOn(sim_, 1), ElementsAre(0x60000u));
  EXPECT_EQ(lapic_.eoi_count(1), 0u);  // served without the interrupt
  EXPECT_THAT(InvlpgsOn(sim_, 2), IsEmpty());
}

}  // namespace
}  // namespace pvops::test
