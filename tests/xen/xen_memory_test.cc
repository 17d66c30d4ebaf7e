// SPDX-License-Identifier: MIT
// The memory reservation of a PV guest: frames given back by their machine frames, unmapped and
// ballooned in the p2m first; populated again at the frames Xen chose, mapped back; and Xen's
// count as Xen states it.
#include <gtest/gtest.h>

#include <xen/errno.h>

#include "fake_xen.h"

namespace pvops::test {
namespace {

constexpr uint64_t kPfns[2] = {kFirstFreePfn + 6, kFirstFreePfn + 7};
constexpr uint64_t kPteFrame = 0x000ffffffffff000;

class XenMemoryTest : public XenPvTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(BootPv(), PVOPS_OK);
    ClearRecords();
  }
  uint64_t Reservation() {
    uint64_t pages = 0;
    EXPECT_EQ(pvops_memory_reservation(&pages), PVOPS_OK);
    return pages;
  }
  // The last update_va_mapping of the page's direct-map address.
  const VaMapping* LastMapping(uint64_t pfn) {
    const VaMapping* last = nullptr;
    for (const VaMapping& m : va_mappings_)
      if (m.va == reinterpret_cast<uintptr_t>(Page(pfn))) last = &m;
    return last;
  }
};

TEST_F(XenMemoryTest, ReservationIsXensCount) {
  EXPECT_EQ(Reservation(), kGuestPages);
  reservation_ = 12345;
  EXPECT_EQ(Reservation(), 12345u);
}

TEST_F(XenMemoryTest, AReservationOfZeroIsBadData) {
  reservation_ = 0;
  uint64_t pages = 7;
  EXPECT_EQ(pvops_memory_reservation(&pages), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(pages, 7u);
}

TEST_F(XenMemoryTest, ReleaseGivesTheMachineFramesBackUnmappedAndBallooned) {
  ASSERT_EQ(pvops_memory_release(kPfns, 2), PVOPS_OK);
  ASSERT_EQ(released_.size(), 2u);
  EXPECT_EQ(released_[0], MfnOf(kPfns[0]));
  EXPECT_EQ(released_[1], MfnOf(kPfns[1]));
  for (const uint64_t pfn : kPfns) {
    EXPECT_EQ(P2m()[pfn], ~xen_pfn_t{0}) << pfn;
    const VaMapping* m = LastMapping(pfn);
    ASSERT_NE(m, nullptr) << pfn;
    EXPECT_EQ(m->pte, 0u);
    EXPECT_EQ(m->flags, uint64_t{UVMF_INVLPG | UVMF_ALL});
  }
  EXPECT_EQ(Reservation(), kGuestPages - 2);
}

TEST_F(XenMemoryTest, PopulateMapsTheFramesXenChoseAndUpdatesTheP2m) {
  ASSERT_EQ(pvops_memory_release(kPfns, 2), PVOPS_OK);
  const uint64_t first_new = next_free_mfn_;
  ASSERT_EQ(pvops_memory_populate(kPfns, 2), PVOPS_OK);
  ASSERT_EQ(populated_.size(), 2u);
  for (uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(populated_[i], kPfns[i]);
    EXPECT_EQ(P2m()[kPfns[i]], first_new + i);
    EXPECT_EQ(pvops_phys_to_machine(kPfns[i] << 12), (first_new + i) << 12);
    const VaMapping* m = LastMapping(kPfns[i]);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->pte & kPteFrame, (first_new + i) << 12);
    EXPECT_NE(m->pte & 0x3, 0u) << "present and writable";
  }
  EXPECT_EQ(Reservation(), kGuestPages);
}

TEST_F(XenMemoryTest, APartialReleaseKeepsTheRestMappedAndSaysSo) {
  extents_allowed_ = 1;
  EXPECT_EQ(pvops_memory_release(kPfns, 2), PVOPS_ERR_HYPERVISOR);
  EXPECT_EQ(P2m()[kPfns[0]], ~xen_pfn_t{0});
  EXPECT_EQ(P2m()[kPfns[1]], MfnOf(kPfns[1]));
  const VaMapping* m = LastMapping(kPfns[1]);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->pte & kPteFrame, MfnOf(kPfns[1]) << 12);
  EXPECT_EQ(Reservation(), kGuestPages - 1);
}

TEST_F(XenMemoryTest, FramesThatAreNotTheGuestsOrAlreadyGoneAreRefusedBeforeAnyCall) {
  const uint64_t outside[1] = {kGuestPages};
  EXPECT_EQ(pvops_memory_release(outside, 1), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_memory_populate(kPfns, 2), PVOPS_ERR_INVALID) << "still backed";
  ASSERT_EQ(pvops_memory_release(kPfns, 1), PVOPS_OK);
  ClearRecords();
  EXPECT_EQ(pvops_memory_release(kPfns, 1), PVOPS_ERR_INVALID) << "already given back";
  EXPECT_TRUE(CallsTo(__HYPERVISOR_memory_op).empty());
}

TEST_F(XenMemoryTest, AMachineFrameXenCannotOwnIsBadDataAndLeftUnused) {
  ASSERT_EQ(pvops_memory_release(kPfns, 1), PVOPS_OK);
  next_free_mfn_ = kMaxMfn + 1;  // past max_mfn: no frame of a domain
  m2p_.resize(kMaxMfn + 2, ~xen_ulong_t{0});
  EXPECT_EQ(pvops_memory_populate(kPfns, 1), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(P2m()[kPfns[0]], ~xen_pfn_t{0});
}

TEST_F(XenMemoryTest, ArgumentsAreChecked) {
  EXPECT_EQ(pvops_memory_release(nullptr, 1), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_memory_populate(nullptr, 1), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_memory_reservation(nullptr), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_memory_release(kPfns, 0), PVOPS_OK);
}

}  // namespace
}  // namespace pvops::test
