// SPDX-License-Identifier: MIT
// Pseudo-physical against machine frames: the p2m list one way, the m2p table (checked by the
// p2m) the other, identity past the guest's pages, and whole page-table entries.
#include <gtest/gtest.h>

#include "fake_xen.h"

namespace pvops::test {
namespace {

constexpr uint64_t kPresentRw = 0x3;
constexpr uint64_t kNx = uint64_t{1} << 63;

class XenP2mTest : public XenPvTest {
 protected:
  void SetUp() override { ASSERT_EQ(BootPv(), PVOPS_OK); }
};

TEST_F(XenP2mTest, PhysToMachineFollowsTheP2mAndKeepsTheOffset) {
  EXPECT_EQ(pvops_phys_to_machine(0), MfnOf(0) << 12);
  EXPECT_EQ(pvops_phys_to_machine(0x1000), MfnOf(1) << 12);
  EXPECT_EQ(pvops_phys_to_machine(17 * 4096 + 0x123), (MfnOf(17) << 12) | 0x123);
  EXPECT_EQ(pvops_machine_to_phys((MfnOf(17) << 12) | 0x123), 17 * 4096 + 0x123u);
  for (uint64_t pfn = 0; pfn < kGuestPages; ++pfn)
    EXPECT_EQ(pvops_machine_to_phys(pvops_phys_to_machine(pfn << 12)), pfn << 12) << pfn;
}

TEST_F(XenP2mTest, FramesPastTheGuestAreIdentityAndBalloonedOnesInvalid) {
  // An I/O frame of a PV dom0 (no pfn of ours): Linux's identity frames.
  EXPECT_EQ(pvops_phys_to_machine(0xfee00000), 0xfee00000u);
  EXPECT_EQ(pvops_machine_to_phys(0xfee00000), 0xfee00000u);
  P2m()[20] = ~xen_pfn_t{0};  // ballooned out after boot
  EXPECT_EQ(xen::PfnToMfn(20), xen::kInvalidFrame);
  EXPECT_EQ(pvops_phys_to_machine(20 * 4096), xen::kInvalidFrame);
  // m2p claims a pfn whose p2m entry points elsewhere: a foreign frame. Numbered where our own
  // pfns are it has no guest-physical form; past them it reads as an identity frame (Linux).
  m2p_[0x30] = 5;
  EXPECT_EQ(xen::MfnToPfn(0x30), xen::kInvalidFrame);
  m2p_[0x300] = 5;
  EXPECT_EQ(xen::MfnToPfn(0x300), 0x300u);
}

TEST_F(XenP2mTest, EntriesConvertTheirFrameOnly) {
  const pvops_pte guest = (uint64_t{21} << 12) | kPresentRw | kNx;
  const pvops_pte machine = xen::PteToMachine(guest);
  EXPECT_EQ(machine, (MfnOf(21) << 12) | kPresentRw | kNx);
  EXPECT_EQ(xen::PteFromMachine(machine), guest);
  // Not present: no frame to convert (a swap entry keeps its bits).
  EXPECT_EQ(xen::PteToMachine(0x5000), 0x5000u);
  EXPECT_EQ(xen::PteFromMachine(0x5000), 0x5000u);
  // A ballooned frame cannot be mapped.
  P2m()[22] = ~xen_pfn_t{0};
  EXPECT_EQ(xen::PteToMachine((uint64_t{22} << 12) | 1), xen::kInvalidFrame);
}

TEST_F(XenP2mTest, ReadBackDropsWhatXenAddedToAKernelL1Entry) {
  // Xen's adjust_guest_l1e for a 64-bit PV kernel: _PAGE_USER plus _PAGE_GUEST_KERNEL (bit 52).
  const pvops_pte as_xen_holds_it = (MfnOf(30) << 12) | kPresentRw | 0x4 | kPteXenGuestKernel;
  EXPECT_EQ(xen::PteFromMachine(as_xen_holds_it), (uint64_t{30} << 12) | kPresentRw);
  // A user mapping the guest made itself (no bit 52) keeps its user bit.
  EXPECT_EQ(xen::PteFromMachine((MfnOf(30) << 12) | 0x7), (uint64_t{30} << 12) | 0x7);
}

TEST(XenFrameMapsTest, InstallChecksEveryEntryAgainstMaxMfn) {
  xen_pfn_t p2m[4] = {0x10, 0x11, ~xen_pfn_t{0}, 0x13};
  xen_ulong_t m2p[0x14] = {};
  m2p[0x10] = 0;
  m2p[0x13] = 3;
  EXPECT_EQ(xen::InstallFrameMaps({p2m, 4, m2p, 0x14}), nullptr);
  EXPECT_EQ(xen::PfnToMfn(2), xen::kInvalidFrame);
  p2m[1] = 0x14;  // one past max_mfn
  EXPECT_STREQ(xen::InstallFrameMaps({p2m, 4, m2p, 0x14}),
               "a p2m entry names a machine frame above Xen's max_mfn");
  EXPECT_EQ(xen::Frames().p2m, nullptr) << "a refused list is not kept";
  EXPECT_STREQ(xen::InstallFrameMaps({nullptr, 4, m2p, 0x14}), "no p2m list");
  EXPECT_STREQ(xen::InstallFrameMaps({p2m, 4, nullptr, 0}), "no machine-to-phys table");
}

}  // namespace
}  // namespace pvops::test
