// SPDX-License-Identifier: MIT
// A library built with KVM and Xen only (tests/backends/CMakeLists.txt): Hyper-V and VMI are
// absent, not merely undetected. Their hypervisors are not seen, `pvops=` naming them says
// "not built in", and their counters and per-CPU parts are gone; KVM works as ever.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/backend.h"
#include "core/cpu_area.h"
#include "hypervisor_leaves.h"

namespace pvops::test {
namespace {

class TwoBackendsTest : public HypervisorLeavesTest {
 protected:
  const pvops_info& Info() const { return *pvops_get_info(); }
};

TEST_F(TwoBackendsTest, AnOverrideNamingABackendLeftOutSaysItIsNotBuiltIn) {
  HyperV(0x40000000);
  Boot("pvops=hyperv");
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(Info().reason,
               "pvops=hyperv on the command line, but hyperv is not built in; native");
  EXPECT_EQ(Info().candidate_count, 0u) << "nothing probed for Hyper-V";
  Boot("pvops=vmi");
  EXPECT_STREQ(Info().reason, "pvops=vmi on the command line, but vmi is not built in; native");
}

TEST_F(TwoBackendsTest, AHypervisorOfABackendLeftOutIsNotSeenAndTheReasonSaysWhatWasLookedFor) {
  HyperV(0x40000000);
  Boot();
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(Info().reason, "no hypervisor interface detected by the backends built in: kvm xen");
}

TEST_F(TwoBackendsTest, TheBackendsBuiltInWorkAsEver) {
  HyperV(0x40000000);
  Kvm(0x40000100);
  Boot("pvops=kvm");
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_KVM});
  EXPECT_STREQ(Info().reason, "pvops=kvm on the command line");
  Boot();
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_KVM});
  ASSERT_EQ(Info().candidate_count, 1u) << "Hyper-V's block at 0x40000000 is no candidate";
  EXPECT_EQ(Info().candidates[0].base_leaf, 0x40000100u);
  // Names stay the ABI's, whatever was built.
  EXPECT_STREQ(pvops_backend_name(PVOPS_BACKEND_HYPERV), "hyperv");
}

TEST_F(TwoBackendsTest, TheCountersOfBackendsLeftOutAreNotListed) {
  Boot();
  std::vector<pvops_counter> all(PVOPS_MAX_COUNTERS);
  all.resize(pvops_get_counters(all.data(), PVOPS_MAX_COUNTERS));
  std::vector<std::string> names;
  for (const pvops_counter& c : all) names.emplace_back(c.name);
  // The shared counters, then Xen's own; none of Hyper-V's or VMI's.
  EXPECT_THAT(names, ::testing::Contains("hypercalls"));
  EXPECT_THAT(names, ::testing::Contains("event_upcalls"));
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("tsc_page_reads")));
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("vmi_rom_calls")));
  EXPECT_EQ(names.back(), "xen_update_errors");
}

TEST_F(TwoBackendsTest, TheAreaHoldsNoPagesOfABackendLeftOut) {
  // Without Hyper-V's VP assist and argument pages the area starts with the core's record, and
  // the small parts fit in what is left.
  EXPECT_EQ(offsetof(core::CpuArea, core), 0u);
  EXPECT_LE(sizeof(core::CpuArea), 2 * PVOPS_PAGE_SIZE);
  Boot();
  EXPECT_EQ(OnlineCpu(1), PVOPS_OK);
}

}  // namespace
}  // namespace pvops::test
