// SPDX-License-Identifier: MIT
// Page-table requests of a PV guest: mmu_update at the entry's machine address, mmuext_op for
// flushes, CR3 and pins, and lazy MMU mode as multicall batches (64 updates -> 1 entry into Xen).
#include <gtest/gtest.h>

#include <xen/errno.h>

#include <cstddef>
#include <cstring>

#include "core/cpu_area.h"
#include "core/runtime.h"
#include "fake_xen.h"

namespace pvops::test {
namespace {

using core::Counter;

constexpr uint64_t kPresentRw = 0x3;
constexpr uint64_t kTablePfn = kFirstFreePfn;  // a fresh L1 table
constexpr uint64_t kTestVa = 0xffffc80000000000;

uint64_t EntryMachineAddress(uint64_t table_pfn, uint32_t index) {
  return (MfnOf(table_pfn) << 12) + index * 8;
}
pvops_pte GuestPte(uint64_t pfn) { return (pfn << 12) | kPresentRw; }
pvops_pte MachinePte(uint64_t pfn) { return (MfnOf(pfn) << 12) | kPresentRw; }

class XenMmuTest : public XenPvTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(BootPv(), PVOPS_OK);
    ClearRecords();
  }
  uint64_t Count(Counter c) const { return core::CounterValue(c); }
};

TEST_F(XenMmuTest, SetPteIsOneMmuUpdateAtTheEntrysMachineAddress) {
  pvops_pte* entry = &Table(kTablePfn)[5];
  pvops_set_pte(entry, GuestPte(30));
  ASSERT_EQ(mmu_updates_.size(), 1u);
  EXPECT_EQ(mmu_updates_[0].first, EntryMachineAddress(kTablePfn, 5) | MMU_NORMAL_PT_UPDATE);
  EXPECT_EQ(mmu_updates_[0].second, MachinePte(30));
  EXPECT_EQ(*entry, MachinePte(30)) << "Xen wrote the machine form";
  EXPECT_EQ(pvops_read_pte(entry), GuestPte(30)) << "the caller reads the guest form back";
  EXPECT_EQ(EntriesIntoXen(), 1u);
  EXPECT_TRUE(multicalls_.empty());
}

TEST_F(XenMmuTest, ALazyBatchOf64UpdatesIsOneMulticallOf64Entries) {
  const uint64_t hypercalls = Count(Counter::kHypercalls);
  const uint64_t pte_updates = Count(Counter::kPteUpdates);
  pvops_lazy_mmu_begin();
  for (uint32_t i = 0; i < 64; ++i)
    pvops_update_pte(&Table(kTablePfn)[i], kTestVa + i * 4096,
                     GuestPte(kFirstFreePfn + 1 + (i % 40)));
  EXPECT_TRUE(calls_.empty()) << "queued, not issued, inside lazy mode";
  EXPECT_EQ(Table(kTablePfn)[0], 0u);
  pvops_lazy_mmu_end();

  EXPECT_EQ(EntriesIntoXen(), 1u);
  ASSERT_EQ(multicalls_.size(), 1u);
  ASSERT_EQ(multicalls_[0].size(), 64u);
  for (uint32_t i = 0; i < 64; ++i) {
    const multicall_entry_t& e = multicalls_[0][i];
    EXPECT_EQ(e.op, uint64_t{__HYPERVISOR_mmu_update}) << i;
    EXPECT_EQ(e.args[1], 1u) << i;
    EXPECT_EQ(e.args[3], uint64_t{DOMID_SELF}) << i;
    EXPECT_EQ(e.result, 0u) << i;
    ASSERT_EQ(mmu_updates_[i].first, EntryMachineAddress(kTablePfn, i)) << i;
    EXPECT_EQ(mmu_updates_[i].second, MachinePte(kFirstFreePfn + 1 + (i % 40))) << i;
    EXPECT_EQ(pvops_read_pte(&Table(kTablePfn)[i]), GuestPte(kFirstFreePfn + 1 + (i % 40))) << i;
  }
  EXPECT_EQ(Count(Counter::kHypercalls) - hypercalls, 1u);
  EXPECT_EQ(Count(Counter::kLazyBatches), 1u);
  EXPECT_EQ(Count(Counter::kLazyBatchedUpdates), 64u);
  EXPECT_EQ(Count(Counter::kPteUpdates) - pte_updates, 64u);
}

TEST_F(XenMmuTest, WithoutLazyModeEachOf64UpdatesEntersXen) {
  const uint64_t hypercalls = Count(Counter::kHypercalls);
  for (uint32_t i = 0; i < 64; ++i)
    pvops_update_pte(&Table(kTablePfn)[i], kTestVa + i * 4096, GuestPte(20));
  EXPECT_EQ(EntriesIntoXen(), 64u);
  EXPECT_EQ(CallsTo(__HYPERVISOR_mmu_update).size(), 64u);
  EXPECT_TRUE(multicalls_.empty());
  EXPECT_EQ(Count(Counter::kHypercalls) - hypercalls, 64u);
  EXPECT_EQ(Count(Counter::kLazyBatches), 0u);
}

TEST_F(XenMmuTest, The65thQueuedUpdateIssuesTheFullBatchFirst) {
  pvops_lazy_mmu_begin();
  for (uint32_t i = 0; i < 65; ++i) pvops_set_pte(&Table(kTablePfn)[i], GuestPte(20));
  ASSERT_EQ(multicalls_.size(), 1u);
  EXPECT_EQ(multicalls_[0].size(), 64u);
  pvops_lazy_mmu_end();
  ASSERT_EQ(multicalls_.size(), 2u);
  EXPECT_EQ(multicalls_[1].size(), 1u);
  EXPECT_EQ(mmu_updates_.back().first, EntryMachineAddress(kTablePfn, 64));
}

TEST_F(XenMmuTest, LazyFlushIssuesTheQueueAndStaysLazy) {
  pvops_lazy_mmu_begin();
  for (uint32_t i = 0; i < 3; ++i) pvops_set_pte(&Table(kTablePfn)[i], GuestPte(20));
  pvops_lazy_mmu_flush();
  ASSERT_EQ(multicalls_.size(), 1u);
  EXPECT_EQ(multicalls_[0].size(), 3u);
  pvops_set_pte(&Table(kTablePfn)[3], GuestPte(21));
  EXPECT_EQ(multicalls_.size(), 1u) << "still lazy after a flush";
  pvops_lazy_mmu_end();
  ASSERT_EQ(multicalls_.size(), 2u);
  EXPECT_EQ(multicalls_[1].size(), 1u);
}

// A secondary CPU's Xen state is its part of the area the kernel handed over: the multicall
// batch Xen reads, the runstate area Xen writes, and the IPI ports it was given.
TEST_F(XenMmuTest, ASecondarysBatchRunstateAndPortsLiveInItsArea) {
  auto* area = static_cast<unsigned char*>(NewCpuArea());
  ASSERT_EQ(pvops_set_cpu_area(1, area), PVOPS_OK);
  sim_.RunOnCpu(1, [] { ASSERT_EQ(pvops_cpu_online(1), PVOPS_OK); });
  const uintptr_t part = reinterpret_cast<uintptr_t>(area) + offsetof(core::CpuArea, xen);
  ASSERT_EQ(runstate_areas_.count(1), 1u);
  EXPECT_EQ(runstate_areas_.at(1),
            part + offsetof(xen::CpuPart, runstate) + offsetof(xen::Runstate, info));
  ClearRecords();
  sim_.RunOnCpu(1, [&] {
    pvops_lazy_mmu_begin();
    pvops_set_pte(&Table(kTablePfn)[0], GuestPte(20));
    pvops_lazy_mmu_end();
  });
  const std::vector<XenCall> multicalls = CallsTo(__HYPERVISOR_multicall);
  ASSERT_EQ(multicalls.size(), 1u);
  EXPECT_EQ(multicalls[0].cpu, 1u);
  EXPECT_EQ(multicalls[0].args[0],
            part + offsetof(xen::CpuPart, batch) + offsetof(xen::Batch, calls));
  // CPU 0 sends CPU 1 an IPI: the port bound for it is kept in CPU 1's part.
  ASSERT_EQ(pvops_send_ipi(CpuSet::Only(1).raw(), 0x40), PVOPS_OK);
  ASSERT_EQ(sent_ports_.size(), 1u);
  const uint32_t port = sent_ports_[0];
  EXPECT_NE(port, PortOf(FakePort::kIpi, 1)) << "not CPU 1's kick port";
  uint16_t kept = 0;
  std::memcpy(&kept,
              area + offsetof(core::CpuArea, xen) + offsetof(xen::CpuPart, ipi_ports) +
                  0x40 * sizeof(uint16_t),
              sizeof(kept));
  EXPECT_EQ(kept, port);
}

TEST_F(XenMmuTest, LocalFlushesJoinTheBatchInOrder) {
  pvops_lazy_mmu_begin();
  pvops_update_pte(&Table(kTablePfn)[0], kTestVa, GuestPte(20));
  pvops_flush_tlb_one(kTestVa);
  pvops_flush_tlb_local();
  EXPECT_TRUE(calls_.empty());
  pvops_lazy_mmu_end();
  ASSERT_EQ(multicalls_.size(), 1u);
  ASSERT_EQ(multicalls_[0].size(), 3u);
  EXPECT_EQ(multicalls_[0][0].op, uint64_t{__HYPERVISOR_mmu_update});
  EXPECT_EQ(multicalls_[0][1].op, uint64_t{__HYPERVISOR_mmuext_op});
  ASSERT_EQ(mmuext_.size(), 2u);
  EXPECT_EQ(mmuext_[0].cmd, uint32_t{MMUEXT_INVLPG_LOCAL});
  EXPECT_EQ(mmuext_[0].arg1, kTestVa);
  EXPECT_EQ(mmuext_[1].cmd, uint32_t{MMUEXT_TLB_FLUSH_LOCAL});
  // Lazy batches count their PTE updates, not their flushes.
  EXPECT_EQ(core::CounterValue(Counter::kLazyBatchedUpdates), 1u);
}

TEST_F(XenMmuTest, LocalFlushesOutsideLazyModeAreOneMmuextOpEach) {
  pvops_flush_tlb_one(kTestVa + 0x3000);
  pvops_flush_tlb_local();
  ASSERT_EQ(CallsTo(__HYPERVISOR_mmuext_op).size(), 2u);
  ASSERT_EQ(mmuext_.size(), 2u);
  EXPECT_EQ(mmuext_[0].cmd, uint32_t{MMUEXT_INVLPG_LOCAL});
  EXPECT_EQ(mmuext_[0].arg1, kTestVa + 0x3000);
  EXPECT_FALSE(mmuext_[0].in_multicall);
  EXPECT_EQ(mmuext_[1].cmd, uint32_t{MMUEXT_TLB_FLUSH_LOCAL});
}

TEST_F(XenMmuTest, WriteCr3IsNewBaseptrWithTheMachineFrame) {
  pvops_write_cr3(40 * 4096);
  ASSERT_EQ(mmuext_.size(), 1u);
  EXPECT_EQ(mmuext_[0].cmd, uint32_t{MMUEXT_NEW_BASEPTR});
  EXPECT_EQ(mmuext_[0].arg1, MfnOf(40));
  EXPECT_EQ(sim_.cr3(), MfnOf(40) << 12) << "the fake Xen switched";
  EXPECT_EQ(pvops_read_cr3(), 40u * 4096) << "read back in guest-physical form, no trap";
  // A refused switch leaves CR3 as it was.
  answer_ = [](const XenCall& c) {
    return c.nr == __HYPERVISOR_mmuext_op ? -XEN_EINVAL : kFallThrough;
  };
  pvops_write_cr3(41 * 4096);
  EXPECT_EQ(pvops_read_cr3(), 40u * 4096);
  EXPECT_EQ(xen::kCounters.Value(xen::Counter::kUpdateErrors), 1u);
}

TEST_F(XenMmuTest, AllocPtMakesEveryAliasReadOnlyThenPinsInOneMulticall) {
  constexpr uint64_t kWindowVa = 0xffffffff80000000;
  ASSERT_EQ(pvops_xen_pv_add_alias_window(kWindowVa, 0, kGuestPages * 4096), PVOPS_OK);
  ASSERT_EQ(pvops_alloc_pt(41, 1), PVOPS_OK);
  EXPECT_EQ(EntriesIntoXen(), 1u);
  ASSERT_EQ(multicalls_.size(), 1u);
  ASSERT_EQ(multicalls_[0].size(), 3u);
  ASSERT_EQ(va_mappings_.size(), 2u);
  EXPECT_EQ(va_mappings_[0].va, reinterpret_cast<uintptr_t>(Page(41))) << "the direct map";
  EXPECT_EQ(va_mappings_[1].va, kWindowVa + 41 * 4096) << "the kernel's window";
  for (const VaMapping& m : va_mappings_) {
    EXPECT_EQ(m.pte & 0x000ffffffffff000, MfnOf(41) << 12);
    EXPECT_EQ(m.pte & 0x3, 0x1u) << "present, not writable";
  }
  ASSERT_EQ(mmuext_.size(), 1u);
  EXPECT_EQ(mmuext_[0].cmd, uint32_t{MMUEXT_PIN_L1_TABLE});
  EXPECT_EQ(mmuext_[0].arg1, MfnOf(41));
  EXPECT_EQ(pinned_.at(MfnOf(41)), 1u);

  ClearRecords();
  ASSERT_EQ(pvops_release_pt(41, 1), PVOPS_OK);
  ASSERT_EQ(multicalls_.size(), 1u);
  ASSERT_EQ(mmuext_.size(), 1u);
  EXPECT_EQ(mmuext_[0].cmd, uint32_t{MMUEXT_UNPIN_TABLE});
  EXPECT_EQ(pinned_.count(MfnOf(41)), 0u);
  ASSERT_EQ(va_mappings_.size(), 2u);
  for (const VaMapping& m : va_mappings_) EXPECT_EQ(m.pte & 0x3, 0x3u) << "writable again";
}

TEST_F(XenMmuTest, InitRecordsTheBootstrapRegionTheLoaderMapped) {
  const core::LoaderMapping& loader = core::g_loader_mapping;
  EXPECT_EQ(loader.va, reinterpret_cast<uintptr_t>(Page(0))) << "pt_base less the root's pfn";
  EXPECT_EQ(loader.bytes, (kRootPfn + kPtFrames) * 4096) << "up to the end of its page tables";
  EXPECT_EQ(loader.table_pfn, kRootPfn);
  EXPECT_EQ(loader.table_frames, kPtFrames);
  EXPECT_EQ(loader.pages, kGuestPages);
}

TEST_F(XenMmuTest, TheDirectMapIsBuiltWithEveryTableFrameReadOnlyAndPinned) {
  constexpr uint64_t kTables = 20;  // L1, L2, L3 at pfns 20, 21, 22
  constexpr uint64_t kVa = 0xffff888000000000;
  uint64_t mapped = 0;
  ASSERT_EQ(pvops_build_direct_map(kVa, Page(kTables), 3 * 4096, 0, &mapped), PVOPS_OK);
  EXPECT_EQ(mapped, kGuestPages);
  EXPECT_EQ(pinned_.at(MfnOf(kTables)), 1u);
  EXPECT_EQ(pinned_.at(MfnOf(kTables + 1)), 2u);
  EXPECT_EQ(pinned_.at(MfnOf(kTables + 2)), 3u);
  for (uint64_t pfn = 0; pfn < kGuestPages; ++pfn) {
    const bool table =
        (pfn >= kRootPfn && pfn < kRootPfn + kPtFrames) || (pfn >= kTables && pfn < kTables + 3);
    EXPECT_EQ(pvops_read_pte(&Table(kTables)[pfn]), (pfn << 12) | (table ? 0x21u : 0x63u))
        << "pfn " << pfn;
  }
  EXPECT_EQ(*&Table(kTables)[7], (MfnOf(7) << 12) | 0x63) << "Xen holds the machine form";
  EXPECT_EQ(pvops_read_pte(&Table(kRootPfn)[273]), ((kTables + 2) << 12) | 0x23);
  // The leaves went out in lazy batches of 64, not one entry into Xen each.
  EXPECT_LT(EntriesIntoXen(), 16u);
}

TEST_F(XenMmuTest, EachLevelPinsWithItsCommand) {
  for (uint32_t level = 1; level <= 4; ++level) {
    ASSERT_EQ(pvops_alloc_pt(40 + level, level), PVOPS_OK);
    EXPECT_EQ(mmuext_.back().cmd, uint32_t{MMUEXT_PIN_L1_TABLE} + level - 1);
  }
  EXPECT_EQ(pvops_alloc_pt(50, 0), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_alloc_pt(50, 5), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_alloc_pt(kGuestPages, 1), PVOPS_ERR_INVALID) << "not a frame of the guest";
}

TEST_F(XenMmuTest, ARefusedPinReturnsXensStatusAndLeavesTheFrameWritable) {
  answer_ = [](const XenCall& c) -> int64_t {
    if (c.nr != __HYPERVISOR_mmuext_op) return kFallThrough;
    const auto* op = reinterpret_cast<const mmuext_op_t*>(c.args[0]);
    return op->cmd == MMUEXT_PIN_L1_TABLE ? -XEN_EINVAL : kFallThrough;
  };
  EXPECT_EQ(pvops_alloc_pt(41, 1), PVOPS_ERR_INVALID);
  ASSERT_EQ(multicalls_.size(), 2u) << "the pin, then the undo";
  ASSERT_EQ(va_mappings_.size(), 2u);
  EXPECT_EQ(va_mappings_[0].pte & 0x3, 0x1u);
  EXPECT_EQ(va_mappings_[1].pte & 0x3, 0x3u);
  EXPECT_EQ(xen::kCounters.Value(xen::Counter::kUpdateErrors), 1u);
}

TEST_F(XenMmuTest, XensOwnTopLevelSlotsAreNeverWritten) {
  ASSERT_EQ(pvops_alloc_pt(42, 4), PVOPS_OK);
  ClearRecords();
  pvops_set_pte(&Table(42)[256], GuestPte(20));  // HYPERVISOR_VIRT_START's slot
  pvops_set_pte(&Table(42)[271], GuestPte(20));
  EXPECT_TRUE(mmu_updates_.empty());
  pvops_set_pte(&Table(42)[255], GuestPte(20));
  pvops_set_pte(&Table(42)[272], GuestPte(20));
  EXPECT_EQ(mmu_updates_.size(), 2u);
  // The same slots of a table that is not a top-level one are ordinary entries.
  pvops_set_pte(&Table(43)[256], GuestPte(20));
  EXPECT_EQ(mmu_updates_.size(), 3u);
  // The boot L4 counts too.
  pvops_set_pte(&Table(kRootPfn)[260], GuestPte(20));
  EXPECT_EQ(mmu_updates_.size(), 3u);
}

TEST_F(XenMmuTest, UpdatesXenRefusesOrThatCannotBeExpressedAreCounted) {
  answer_ = [](const XenCall& c) {
    return c.nr == __HYPERVISOR_mmu_update ? -XEN_EINVAL : kFallThrough;
  };
  pvops_set_pte(&Table(kTablePfn)[0], GuestPte(20));
  EXPECT_EQ(xen::kCounters.Value(xen::Counter::kUpdateErrors), 1u);
  pvops_lazy_mmu_begin();
  pvops_set_pte(&Table(kTablePfn)[1], GuestPte(20));
  pvops_set_pte(&Table(kTablePfn)[2], GuestPte(20));
  pvops_lazy_mmu_end();
  EXPECT_EQ(xen::kCounters.Value(xen::Counter::kUpdateErrors), 3u) << "each failed batch entry";
  answer_ = nullptr;
  P2m()[23] = ~xen_pfn_t{0};
  ClearRecords();
  pvops_set_pte(&Table(kTablePfn)[3], GuestPte(23));  // a ballooned frame has no machine form
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(xen::kCounters.Value(xen::Counter::kUpdateErrors), 4u);
}

TEST_F(XenMmuTest, FlushTlbMultiNamesVcpusInOneMmuextOp) {
  OnlinePvCpus(2);
  ClearRecords();
  pvops_cpuset only1;
  pvops_cpuset_clear(&only1);
  pvops_cpuset_add(&only1, 1);
  ASSERT_EQ(pvops_flush_tlb_multi(&only1, kTestVa, kTestVa + 2 * 4096), PVOPS_OK);
  ASSERT_EQ(CallsTo(__HYPERVISOR_mmuext_op).size(), 1u);
  EXPECT_EQ(CallsTo(__HYPERVISOR_mmuext_op)[0].args[1], 2u);
  ASSERT_EQ(mmuext_.size(), 2u);
  EXPECT_EQ(mmuext_[0].cmd, uint32_t{MMUEXT_INVLPG_MULTI});
  EXPECT_EQ(mmuext_[0].arg1, kTestVa);
  EXPECT_EQ(mmuext_[1].arg1, kTestVa + 4096);
  EXPECT_EQ(mmuext_[0].vcpu_mask, 0b10u);

  pvops_cpuset both = only1;
  pvops_cpuset_add(&both, 0);
  ASSERT_EQ(pvops_flush_tlb_multi(&both, 0, 0), PVOPS_OK);
  EXPECT_EQ(mmuext_.back().cmd, uint32_t{MMUEXT_TLB_FLUSH_MULTI});
  EXPECT_EQ(mmuext_.back().vcpu_mask, 0b11u);
  // A large range is a full flush too.
  ASSERT_EQ(pvops_flush_tlb_multi(&only1, kTestVa, kTestVa + 64 * 4096), PVOPS_OK);
  EXPECT_EQ(mmuext_.back().cmd, uint32_t{MMUEXT_TLB_FLUSH_MULTI});

  pvops_cpuset offline;
  pvops_cpuset_clear(&offline);
  pvops_cpuset_add(&offline, 3);
  EXPECT_EQ(pvops_flush_tlb_multi(&offline, 0, 0), PVOPS_ERR_INVALID);
}

TEST_F(XenMmuTest, QueuedUpdatesGoOutBeforeARemoteFlush) {
  OnlinePvCpus(2);
  ClearRecords();
  pvops_cpuset only1;
  pvops_cpuset_clear(&only1);
  pvops_cpuset_add(&only1, 1);
  pvops_lazy_mmu_begin();
  pvops_update_pte(&Table(kTablePfn)[0], kTestVa, GuestPte(20));
  ASSERT_EQ(pvops_flush_tlb_multi(&only1, kTestVa, kTestVa + 4096), PVOPS_OK);
  pvops_lazy_mmu_end();
  ASSERT_EQ(calls_.size(), 3u);  // the multicall, its entry, then the flush
  EXPECT_EQ(calls_[0].nr, uint32_t{__HYPERVISOR_multicall});
  EXPECT_EQ(calls_[2].nr, uint32_t{__HYPERVISOR_mmuext_op});
}

}  // namespace
}  // namespace pvops::test
