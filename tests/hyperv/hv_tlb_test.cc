// SPDX-License-Identifier: MIT
// Remote TLB flushes: which hypercall form for which range and which VP indexes, the local
// flush done here, the Ex forms past VP 63, and the native shootdown when the hint, the Ex hint
// or a VP index is missing, or the hypervisor refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "backends/hyperv/hyperv.h"
#include "backends/native/native.h"
#include "hv_machine.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t kVa = 0xffffc80000200000;
constexpr uint64_t kPage = 4096;

pvops_cpuset Cpus(std::initializer_list<uint32_t> cpus) {
  pvops_cpuset set;
  pvops_cpuset_clear(&set);
  for (uint32_t c : cpus) pvops_cpuset_add(&set, c);
  return set;
}

std::vector<uint64_t> InvlpgsOn(const sim::SimCpu& sim, uint32_t cpu) {
  std::vector<uint64_t> vas;
  for (const sim::CpuEvent& e : sim.invlpgs())
    if (e.cpu == cpu) vas.push_back(e.value);
  return vas;
}

class HvTlbTest : public HyperVMachineTest {
 protected:
  void Start(uint32_t cpus = 3) {
    ASSERT_EQ(BootHyperV(), PVOPS_OK);
    OnlineCpus(cpus);
    DeliverAllIpisAtOnce();  // for the native shootdowns
    calls_.clear();
    sim_.ClearLogs();
  }
  std::vector<HvCall> FlushCalls() const {
    std::vector<HvCall> out;
    for (const HvCall& c : calls_)
      if (c.code == kCallFlushVirtualAddressSpace || c.code == kCallFlushVirtualAddressList ||
          c.code == kCallFlushVirtualAddressSpaceEx || c.code == kCallFlushVirtualAddressListEx)
        out.push_back(c);
    return out;
  }
};

TEST_F(HvTlbTest, AFewPagesOnOtherCpusAreOneListHypercall) {
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + 3 * kPage), PVOPS_OK);
  const auto calls = FlushCalls();
  ASSERT_EQ(calls.size(), 1u);
  const HvCall& c = calls[0];
  EXPECT_EQ(c.code, kCallFlushVirtualAddressList);
  EXPECT_FALSE(c.fast);
  EXPECT_EQ(c.rep_count, 1u);
  EXPECT_EQ(c.var_header_qwords, 0u);
  EXPECT_EQ(c.input[0], 0u);                             // address space (ignored with ...)
  EXPECT_EQ(c.input[1], kFlushAllVirtualAddressSpaces);  // ... every space, globals included
  EXPECT_EQ(c.input[2], 0b110u);                         // VPs 1 and 2
  EXPECT_EQ(c.input[3], kVa | 2);                        // the page and 2 more
  EXPECT_THAT(lapic_.sent(), IsEmpty()) << "no IPI: the hypervisor flushes them";
  EXPECT_THAT(InvlpgsOn(sim_, 0), IsEmpty()) << "cpu 0 was not asked";
  EXPECT_EQ(CounterValue(core::Counter::kTlbFlushHypercalls), 1u);
  EXPECT_EQ(CounterValue(core::Counter::kTlbFlushRemote), 2u);
}

TEST_F(HvTlbTest, TheCallerFlushesItselfAndIsNotInTheMask) {
  Start();
  const pvops_cpuset set = Cpus({0, 1});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_THAT(InvlpgsOn(sim_, 0), ElementsAre(kVa));
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].input[2], 0b10u);
}

TEST_F(HvTlbTest, RemoteFlushLeavesTheKernelOnlyItself) {
  Start();
  pvops_cpuset set = Cpus({0, 1, 2});
  ASSERT_EQ(pvops_flush_tlb_remote(&set, kVa, kVa + kPage), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].input[2], 0b110u);
  const pvops_cpuset left = Cpus({0});
  EXPECT_EQ(std::memcmp(&set, &left, sizeof(set)), 0) << "the caller flushes itself";
  EXPECT_THAT(InvlpgsOn(sim_, 0), IsEmpty()) << "not by the library";
  EXPECT_THAT(lapic_.sent(), IsEmpty());
}

TEST_F(HvTlbTest, ARefusedRemoteFlushLeavesEveryCpuToTheKernel) {
  Start();
  answer_ = [](const HvCall&) { return Status(kHvStatusAccessDenied); };
  pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_flush_tlb_remote(&set, kVa, kVa + kPage), PVOPS_OK);
  const pvops_cpuset asked = Cpus({1, 2});
  EXPECT_EQ(std::memcmp(&set, &asked, sizeof(set)), 0);
}

TEST_F(HvTlbTest, OnlyTheCallerNeedsNoHypercall) {
  Start();
  const pvops_cpuset set = Cpus({0});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_THAT(InvlpgsOn(sim_, 0), ElementsAre(kVa));
  EXPECT_THAT(calls_, IsEmpty());
}

TEST_F(HvTlbTest, EverythingIsTheAddressSpaceHypercall) {
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, 0, 0), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  const HvCall c = FlushCalls()[0];
  EXPECT_EQ(c.code, kCallFlushVirtualAddressSpace);
  EXPECT_EQ(c.rep_count, 0u);
  EXPECT_EQ(c.input[1], kFlushAllVirtualAddressSpaces);
  EXPECT_EQ(c.input[2], 0b110u);
}

TEST_F(HvTlbTest, ListEntriesCoverUpTo4096PagesEach) {
  Start();
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + 5000 * kPage), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  const HvCall c = FlushCalls()[0];
  EXPECT_EQ(c.code, kCallFlushVirtualAddressList);
  EXPECT_EQ(c.rep_count, 2u);
  EXPECT_EQ(c.input[3], kVa | 0xfff);
  EXPECT_EQ(c.input[4], (kVa + 4096 * kPage) | (5000 - 4096 - 1));
}

// A range ending in the top page of the address space: its end rounded up to a page wrapped to
// 0, and the list writer ran past the argument page (found by the hv_hypercall fuzz target).
TEST_F(HvTlbTest, ARangeEndingInTheTopPageIsListedWithoutWrapping) {
  Start();
  constexpr uint64_t kTopPages = ~uint64_t{0} - 2 * kPage + 1;  // the last two pages
  pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_remote(&set, kTopPages, kTopPages + kPage + 1), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  const HvCall c = FlushCalls()[0];
  EXPECT_EQ(c.code, kCallFlushVirtualAddressList);
  EXPECT_EQ(c.rep_count, 1u);
  EXPECT_EQ(c.input[3], kTopPages | 1);  // both pages, one entry
  calls_.clear();
  set = Cpus({1});
  // Every page up to the top one: more than the argument page lists, so the whole space.
  ASSERT_EQ(pvops_flush_tlb_remote(&set, 0, ~uint64_t{0} - kPage + 2), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].code, kCallFlushVirtualAddressSpace);
}

TEST_F(HvTlbTest, AnUnalignedRangeCoversEveryPageItTouches) {
  Start();
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa + 0x800, kVa + kPage + 1), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].input[3], kVa | 1);
}

TEST_F(HvTlbTest, ARangeTooLongForTheInputPageFlushesEverything) {
  Start();
  const pvops_cpuset set = Cpus({1});
  // 253 entries fit after the 3-word header in half a page; this range needs 254.
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + (253 * 4096 + 1) * kPage), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].code, kCallFlushVirtualAddressSpace);
  calls_.clear();
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + 253 * 4096 * kPage), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].code, kCallFlushVirtualAddressList);
  EXPECT_EQ(FlushCalls()[0].rep_count, 253u);
}

TEST_F(HvTlbTest, VpIndexesFrom64UseTheExFormsWithSparseBanks) {
  vp_index_[1] = 5;
  vp_index_[2] = 70;  // bank 1, bit 6
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  const HvCall list = FlushCalls()[0];
  EXPECT_EQ(list.code, kCallFlushVirtualAddressListEx);
  EXPECT_EQ(list.var_header_qwords, 2u);  // two banks
  EXPECT_EQ(list.rep_count, 1u);
  EXPECT_EQ(list.input[1], kFlushAllVirtualAddressSpaces);
  EXPECT_EQ(list.input[2], kVpSetFormatSparse4k);
  EXPECT_EQ(list.input[3], 0b11u);             // banks 0 and 1
  EXPECT_EQ(list.input[4], uint64_t{1} << 5);  // bank 0: VP 5
  EXPECT_EQ(list.input[5], uint64_t{1} << 6);  // bank 1: VP 70
  EXPECT_EQ(list.input[6], kVa);               // the list after the banks

  calls_.clear();
  ASSERT_EQ(pvops_flush_tlb_multi(&set, 0, 0), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].code, kCallFlushVirtualAddressSpaceEx);
  EXPECT_EQ(FlushCalls()[0].var_header_qwords, 2u);
  EXPECT_EQ(FlushCalls()[0].rep_count, 0u);
}

TEST_F(HvTlbTest, OnlyNonEmptyBanksAreSent) {
  vp_index_[1] = 200;  // bank 3 alone
  Start(2);
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, 0, 0), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 1u);
  EXPECT_EQ(FlushCalls()[0].var_header_qwords, 1u);
  EXPECT_EQ(FlushCalls()[0].input[3], 0b1000u);
  EXPECT_EQ(FlushCalls()[0].input[4], uint64_t{1} << (200 - 192));
}

TEST_F(HvTlbTest, WithoutTheExHintHighVpIndexesGetTheNativeShootdown) {
  hv_.hints &= ~kHintExProcessorMasks;
  vp_index_[2] = 70;
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_THAT(FlushCalls(), IsEmpty());
  EXPECT_THAT(InvlpgsOn(sim_, 1), ElementsAre(kVa));
  EXPECT_THAT(InvlpgsOn(sim_, 2), ElementsAre(kVa));
}

TEST_F(HvTlbTest, WithoutTheRemoteFlushHintTheFlushIsNative) {
  hv_.hints &= ~kHintRemoteTlbFlush;
  Start();
  EXPECT_EQ(pvops_table.mmu.flush_tlb_remote, native::FlushTlbRemote);
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_THAT(FlushCalls(), IsEmpty());
  EXPECT_THAT(InvlpgsOn(sim_, 1), ElementsAre(kVa));
}

TEST_F(HvTlbTest, ACpuWithoutAVpIndexIsFlushedNatively) {
  hv_.max_vps = 2;  // cpu 2's VP index 2 is out of range
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_THAT(FlushCalls(), IsEmpty());
  EXPECT_THAT(InvlpgsOn(sim_, 2), ElementsAre(kVa));
}

TEST_F(HvTlbTest, ARefusedFlushFallsBackAndTheHypercallIsNotTriedAgain) {
  Start();
  answer_ = [](const HvCall&) { return Status(kHvStatusAccessDenied); };
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_EQ(FlushCalls().size(), 1u);
  EXPECT_THAT(InvlpgsOn(sim_, 1), ElementsAre(kVa)) << "flushed natively after the refusal";
  ASSERT_EQ(pvops_flush_tlb_multi(&set, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_EQ(FlushCalls().size(), 1u);
}

TEST_F(HvTlbTest, ARefusedExFormKeepsThePlainOne) {
  vp_index_[2] = 70;
  Start();
  answer_ = [this](const HvCall& c) {
    if (c.code == kCallFlushVirtualAddressListEx) return Status(kHvStatusAccessDenied);
    DeliverClusterIpi(c);  // the native shootdown's IPIs
    return Success(c.rep_count);
  };
  const pvops_cpuset high = Cpus({2});
  ASSERT_EQ(pvops_flush_tlb_multi(&high, kVa, kVa + kPage), PVOPS_OK);
  EXPECT_THAT(InvlpgsOn(sim_, 2), ElementsAre(kVa));
  const pvops_cpuset low = Cpus({1});
  ASSERT_EQ(pvops_flush_tlb_multi(&low, kVa, kVa + kPage), PVOPS_OK);
  ASSERT_EQ(pvops_flush_tlb_multi(&high, kVa, kVa + kPage), PVOPS_OK);
  ASSERT_EQ(FlushCalls().size(), 2u);
  EXPECT_EQ(FlushCalls()[0].code, kCallFlushVirtualAddressListEx);
  EXPECT_EQ(FlushCalls()[1].code, kCallFlushVirtualAddressList);
}

TEST_F(HvTlbTest, AnOfflineCpuOrABadRangeIsInvalid) {
  Start(2);
  const pvops_cpuset offline = Cpus({1, 5});
  EXPECT_EQ(pvops_flush_tlb_multi(&offline, kVa, kVa + kPage), PVOPS_ERR_INVALID);
  const pvops_cpuset set = Cpus({1});
  EXPECT_EQ(pvops_flush_tlb_multi(&set, kVa + kPage, kVa), PVOPS_ERR_INVALID);
  EXPECT_THAT(calls_, IsEmpty());
}

}  // namespace
}  // namespace pvops::test
