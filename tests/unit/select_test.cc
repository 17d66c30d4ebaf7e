// SPDX-License-Identifier: MIT
// core::PlanSelection, the pure part of detection: the order in which backends are tried.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/backend.h"
#include "core/select.h"

namespace pvops::core {
namespace {

using ::testing::ElementsAre;

class PlanTest : public ::testing::Test {
 protected:
  PlanTest() {
    for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id) found_[id].backend = id;
  }
  void Found(uint32_t id, uint32_t priority, uint32_t base = 0) {
    found_[id].priority = priority;
    found_[id].base_leaf = base;
  }
  std::vector<uint32_t> Plan(const char* override_name = nullptr) {
    const SelectionPlan plan = PlanSelection(found_, override_name, &why_);
    return std::vector<uint32_t>(plan.order, plan.order + plan.count);
  }

  pvops_candidate found_[PVOPS_BACKEND_COUNT] = {};
  char text_[PVOPS_REASON_LEN];
  Reason why_{text_, sizeof(text_)};
};

TEST_F(PlanTest, NothingFoundMeansNative) {
  EXPECT_THAT(Plan(), ElementsAre(PVOPS_BACKEND_NATIVE));
  EXPECT_STREQ(why_.c_str(), "no hypervisor interface detected");
}

TEST_F(PlanTest, HighestPriorityFirstThenTheRestThenNative) {
  Found(PVOPS_BACKEND_HYPERV, kPriorityEmulatedInterface, 0x40000000);
  Found(PVOPS_BACKEND_KVM, PriorityForBase(0x40000100), 0x40000100);
  EXPECT_THAT(Plan(), ElementsAre(PVOPS_BACKEND_KVM, PVOPS_BACKEND_HYPERV, PVOPS_BACKEND_NATIVE));
}

TEST_F(PlanTest, XenPvEntryOutranksEverything) {
  Found(PVOPS_BACKEND_KVM, PriorityForBase(0x40000000), 0x40000000);
  Found(PVOPS_BACKEND_VMI, kPriorityVmiRom);
  Found(PVOPS_BACKEND_XEN, kPriorityXenPvEntry);
  EXPECT_THAT(Plan(), ElementsAre(PVOPS_BACKEND_XEN, PVOPS_BACKEND_VMI, PVOPS_BACKEND_KVM,
                                  PVOPS_BACKEND_NATIVE));
}

TEST_F(PlanTest, AVmiRomOutranksAnyCpuidBlock) {
  Found(PVOPS_BACKEND_KVM, PriorityForBase(0x4000ff00), 0x4000ff00);
  Found(PVOPS_BACKEND_VMI, kPriorityVmiRom);
  EXPECT_THAT(Plan(), ElementsAre(PVOPS_BACKEND_VMI, PVOPS_BACKEND_KVM, PVOPS_BACKEND_NATIVE));
}

// A build without some backends (CMake PVOPS_BACKENDS): an override naming one left out says
// so rather than "not detected", and an empty plan names what was looked for.
TEST_F(PlanTest, ABackendLeftOutOfTheBuildIsNotBuiltIn) {
  const uint32_t kvm_and_xen =
      1u << PVOPS_BACKEND_NATIVE | 1u << PVOPS_BACKEND_KVM | 1u << PVOPS_BACKEND_XEN;
  SelectionPlan plan = PlanSelection(found_, "hyperv", &why_, kvm_and_xen);
  EXPECT_THAT(std::vector<uint32_t>(plan.order, plan.order + plan.count),
              ElementsAre(PVOPS_BACKEND_NATIVE));
  EXPECT_STREQ(why_.c_str(),
               "pvops=hyperv on the command line, but hyperv is not built in; native");
  plan = PlanSelection(found_, nullptr, &why_, kvm_and_xen);
  EXPECT_THAT(std::vector<uint32_t>(plan.order, plan.order + plan.count),
              ElementsAre(PVOPS_BACKEND_NATIVE));
  EXPECT_STREQ(why_.c_str(), "no hypervisor interface detected by the backends built in: kvm xen");
}

TEST_F(PlanTest, OverrideNativeIgnoresEverythingFound) {
  Found(PVOPS_BACKEND_KVM, PriorityForBase(0x40000000), 0x40000000);
  EXPECT_THAT(Plan("native"), ElementsAre(PVOPS_BACKEND_NATIVE));
  EXPECT_STREQ(why_.c_str(), "pvops=native on the command line");
}

TEST_F(PlanTest, OverrideOfAFoundInterfaceTriesItThenNative) {
  Found(PVOPS_BACKEND_KVM, PriorityForBase(0x40000100), 0x40000100);
  Found(PVOPS_BACKEND_HYPERV, kPriorityEmulatedInterface, 0x40000000);
  EXPECT_THAT(Plan("hyperv"), ElementsAre(PVOPS_BACKEND_HYPERV, PVOPS_BACKEND_NATIVE));
}

TEST_F(PlanTest, OverrideOfAnAbsentInterfaceIsNativeWithAReason) {
  Found(PVOPS_BACKEND_KVM, PriorityForBase(0x40000000), 0x40000000);
  EXPECT_THAT(Plan("xen"), ElementsAre(PVOPS_BACKEND_NATIVE));
  EXPECT_STREQ(why_.c_str(),
               "pvops=xen on the command line, but no xen interface was detected; native");
}

TEST_F(PlanTest, UnknownOverrideFallsBackToPriorities) {
  Found(PVOPS_BACKEND_XEN, PriorityForBase(0x40000000), 0x40000000);
  EXPECT_THAT(Plan("qnx"), ElementsAre(PVOPS_BACKEND_XEN, PVOPS_BACKEND_NATIVE));
  EXPECT_STREQ(why_.c_str(),
               "unknown pvops=qnx ignored; highest priority: xen at 0x40000000 (priority "
               "0x40000001)");
}

TEST_F(PlanTest, BackendNamesRoundTrip) {
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id) {
    EXPECT_EQ(BackendIdByName(pvops_backend_name(id)), id);
  }
  EXPECT_EQ(BackendIdByName("KVM"), uint32_t{PVOPS_BACKEND_COUNT});  // names are exact
  EXPECT_STREQ(pvops_backend_name(PVOPS_BACKEND_COUNT), "unknown");
}

}  // namespace
}  // namespace pvops::core
