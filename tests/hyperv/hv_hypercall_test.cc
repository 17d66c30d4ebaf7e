// SPDX-License-Identifier: MIT
// The hypercall forms: rep calls resumed at the returned rep start index, answers that break the
// TLFS, the table's raw hypercall op, and the argument pages every slow call uses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hv_status.h"
#include "backends/hyperv/hyperv.h"
#include "core/cpu_area.h"

#include "hv_machine.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint16_t kSomeRepCall = kCallFlushVirtualAddressList;

// Input and output blocks for direct calls (the simulation's GPAs are host addresses).
alignas(4096) uint64_t g_input[512];
alignas(4096) uint64_t g_output[512];
const uint64_t kIn = reinterpret_cast<uintptr_t>(g_input);
const uint64_t kOut = reinterpret_cast<uintptr_t>(g_output);

class HvHypercallTest : public HyperVMachineTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(BootHyperV(), PVOPS_OK);
    calls_.clear();
  }
  std::vector<uint32_t> RepStarts() const {
    std::vector<uint32_t> starts;
    for (const HvCall& c : calls_) starts.push_back(c.rep_start);
    return starts;
  }
};

TEST_F(HvHypercallTest, ARepCallResumesAtTheReturnedRepStartIndexUntilDone) {
  // A hypervisor that does three elements per call, as one that runs out of time slice would.
  answer_ = [](const HvCall& c) { return Success(std::min(c.rep_start + 3, c.rep_count)); };
  const CallOutcome o = RepCall(MakeControl(kSomeRepCall), 10, kIn, kOut);
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.reps_completed, 10u);
  EXPECT_THAT(RepStarts(), ElementsAre(0u, 3u, 6u, 9u));
  for (const HvCall& c : calls_) {
    EXPECT_EQ(c.code, kSomeRepCall);
    EXPECT_EQ(c.rep_count, 10u);
    EXPECT_EQ(c.rdx, kIn);
    EXPECT_EQ(c.r8, kOut);
  }
}

TEST_F(HvHypercallTest, ARepCallStopsAtTheFirstFailingElement) {
  answer_ = [](const HvCall& c) {
    return c.rep_start == 0 ? Success(4) : Status(kHvStatusInvalidParameter, 6);
  };
  const CallOutcome o = RepCall(MakeControl(kSomeRepCall), 10, kIn, 0);
  EXPECT_EQ(o.status, PVOPS_ERR_INVALID);
  EXPECT_EQ(o.hv_status, kHvStatusInvalidParameter);
  EXPECT_EQ(o.reps_completed, 6u);
  EXPECT_THAT(RepStarts(), ElementsAre(0u, 4u));
}

TEST_F(HvHypercallTest, ASuccessWithoutProgressIsBadDataNotALoop) {
  answer_ = [](const HvCall& c) { return Success(c.rep_start); };
  const CallOutcome o = RepCall(MakeControl(kSomeRepCall), 10, kIn, 0);
  EXPECT_EQ(o.status, PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(calls_.size(), 1u);
}

TEST_F(HvHypercallTest, MoreRepsThanAskedOrFewerThanStartedAreBadData) {
  answer_ = [](const HvCall&) { return Success(11); };
  EXPECT_EQ(RepCall(MakeControl(kSomeRepCall), 10, kIn, 0).status, PVOPS_ERR_BAD_DATA);
  answer_ = [](const HvCall& c) { return c.rep_start == 0 ? Success(5) : Success(2); };
  EXPECT_EQ(RepCall(MakeControl(kSomeRepCall), 10, kIn, 0).status, PVOPS_ERR_BAD_DATA);
}

TEST_F(HvHypercallTest, RepCountsOutsideTheFieldAreRefusedBeforeAnyCall) {
  EXPECT_EQ(RepCall(MakeControl(kSomeRepCall), 0, kIn, 0).status, PVOPS_ERR_INVALID);
  EXPECT_EQ(RepCall(MakeControl(kSomeRepCall), 4096, kIn, 0).status, PVOPS_ERR_INVALID);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(HvHypercallTest, TheControlWordHasTheTlfsLayout) {
  EXPECT_EQ(MakeControl(0x0014, false, 2, 5, 3), 0x0003000500040014u);
  EXPECT_EQ(MakeControl(0x0008, true), 0x10008u);
  EXPECT_EQ(ResultStatus(0x0000000700000006), 6u);
  EXPECT_EQ(ResultReps(0x0000000700000006), 7u);
}

TEST_F(HvHypercallTest, TheRawOpPassesTheControlWordAndMapsTheStatus) {
  int64_t result = -1;
  EXPECT_EQ(pvops_hypercall(0x10008, 0xfff, 0, 0, 0, 0, &result), PVOPS_OK);
  EXPECT_EQ(result, 0);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].control, 0x10008u);
  EXPECT_TRUE(calls_[0].fast);
  EXPECT_EQ(calls_[0].rdx, 0xfffu);

  answer_ = [](const HvCall&) { return Status(kHvStatusAccessDenied); };
  EXPECT_EQ(pvops_hypercall(0x10008, 1, 0, 0, 0, 0, &result), PVOPS_ERR_DENIED);
  EXPECT_EQ(result, 6);
  answer_ = [](const HvCall&) { return Status(kHvStatusInvalidHypercallCode); };
  EXPECT_EQ(pvops_hypercall(0x7777, 0, 0, 0, 0, 0, &result), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(result, 2);
}

// A status the TLFS does not name, or more reps done than asked, through the raw op: an error
// whose status (and, for the status word, name) says what came back; never a success or a loop.
TEST_F(HvHypercallTest, AGarbageAnswerThroughTheRawOpIsAnErrorWithItsReason) {
  int64_t result = 0;
  answer_ = [](const HvCall&) { return Status(0x1234) | uint64_t{0xabc} << 32; };
  EXPECT_EQ(pvops_hypercall(0x10008, 1, 0, 0, 0, 0, &result), PVOPS_ERR_HYPERVISOR);
  EXPECT_EQ(static_cast<uint16_t>(result), 0x1234);
  EXPECT_STREQ(StatusName(static_cast<uint16_t>(result)), "HV_STATUS_UNKNOWN");
  calls_.clear();
  answer_ = [](const HvCall& call) { return Success(call.rep_count + 7); };
  EXPECT_EQ(pvops_hypercall(MakeControl(kSomeRepCall, false, 0, 5), kIn, 0, 0, 0, 0, &result),
            PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(calls_.size(), 1u) << "refused at once, not re-issued";
}

// The per-CPU rule (core/backend.h): a CPU whose VP index, assist page or stimer its vCPU
// refuses still comes up on that feature's native path, and pvops_info.notes says which.
TEST_F(HvHypercallTest, ACpuThatCannotRegisterAFeatureIsNoted) {
  vp_index_[1] = 5000;    // beyond the partition's 1024 VPs
  synic_active_ = false;  // the stimer MSRs fault from here on
  ASSERT_EQ(OnlineCpu(1), PVOPS_OK);
  const char* notes = pvops_get_info()->notes;
  EXPECT_NE(std::strstr(notes, "cpu 1 VP index: "), nullptr) << notes;
  EXPECT_NE(std::strstr(notes, "cpu 1 stimer: "), nullptr) << notes;
  EXPECT_EQ(std::strstr(notes, "cpu 1 VP assist: "), nullptr) << notes;
  uint32_t vp = 0;
  EXPECT_FALSE(VpIndexOf(1, &vp));
  EXPECT_EQ(Part(1)->stimer_ready, 0u);
  EXPECT_EQ(Part(1)->vp_assist_enabled, 1u);
}

TEST_F(HvHypercallTest, TheRawOpRunsRepCallsToTheEnd) {
  answer_ = [](const HvCall& c) { return Success(std::min(c.rep_start + 2, c.rep_count)); };
  int64_t result = 0;
  EXPECT_EQ(pvops_hypercall(MakeControl(kSomeRepCall, false, 0, 5), kIn, 0, 0, 0, 0, &result),
            PVOPS_OK);
  EXPECT_THAT(RepStarts(), ElementsAre(0u, 2u, 4u));
  EXPECT_EQ(ResultReps(static_cast<uint64_t>(result)), 5u);
}

TEST_F(HvHypercallTest, TheRawOpTakesTwoArgumentsOnly) {
  int64_t result = 0;
  EXPECT_EQ(pvops_hypercall(0x10008, 0, 0, 1, 0, 0, &result), PVOPS_ERR_INVALID);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(HvHypercallTest, SlowCallsUseThisCpusAlignedPagesWithInterruptsOff) {
  OnlineCpus(2);
  calls_.clear();
  for (uint32_t cpu = 0; cpu < 2; ++cpu) {
    sim_.RunOnCpu(cpu, [this] {
      sim_.SetInterruptsEnabled(true);
      ArgPages args;
      args.input()[0] = 0x1234;
      (void)SlowCall(args, kCallSendSyntheticClusterIpiEx);
    });
    EXPECT_TRUE(sim_.interrupts_enabled_on(cpu)) << "interrupts back on after the call";
  }
  ASSERT_EQ(calls_.size(), 2u);
  for (const HvCall& c : calls_) {
    EXPECT_FALSE(c.fast);
    EXPECT_FALSE(c.interrupts_enabled) << "cpu " << c.cpu;
    EXPECT_EQ(c.rdx % 8, 0u);
    EXPECT_EQ(c.rdx % 4096, 0u);
    EXPECT_EQ(c.r8, c.rdx + 2048) << "output: the other half of the same page";
    ASSERT_FALSE(c.input.empty());
    EXPECT_EQ(c.input[0], 0x1234u);
  }
  EXPECT_NE(calls_[0].rdx, calls_[1].rdx) << "each CPU has its own pages";
}

// A secondary CPU's VP assist page and argument pages are the pages of the area the kernel
// handed over: at the physical address the kernel mapped it at, plus their place in it.
TEST_F(HvHypercallTest, ASecondarysAssistAndArgumentPagesAreInItsArea) {
  constexpr uint64_t kAreaPhys = 0x4567'0000;
  void* area = NewCpuArea();
  sim_.MapPhys(kAreaPhys, area, PVOPS_CPU_AREA_SIZE);
  ASSERT_EQ(pvops_set_cpu_area(1, area), PVOPS_OK);
  sim_.RunOnCpu(1, [] { ASSERT_EQ(pvops_cpu_online(1), PVOPS_OK); });
  const uint64_t pages = kAreaPhys + offsetof(core::CpuArea, hyperv_pages);
  EXPECT_EQ(vp_assist_msr_[1], pages + offsetof(CpuPages, vp_assist) + 1);
  calls_.clear();
  sim_.RunOnCpu(1, [] {
    ArgPages args;
    (void)SlowCall(args, kCallSendSyntheticClusterIpiEx);
  });
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].rdx, pages + offsetof(CpuPages, args));
  EXPECT_EQ(calls_[0].r8, pages + offsetof(CpuPages, args) + 2048);
}

TEST_F(HvHypercallTest, InterruptsThatWereOffStayOff) {
  sim_.SetInterruptsEnabled(false);
  {
    ArgPages args;
    (void)SlowCall(args, kCallSendSyntheticClusterIpiEx);
  }
  EXPECT_FALSE(sim_.interrupts_enabled());
}

// virt_to_phys that misplaces every argument page by 8 bytes (as a kernel with a broken
// mapping would), and is the identity elsewhere.
uintptr_t g_args_begin, g_args_end;
uint64_t ShiftedArgPages(const void* va) {
  const auto v = reinterpret_cast<uintptr_t>(va);
  return v >= g_args_begin && v < g_args_end ? v + 8 : v;
}

class HvUnusableArgPagesTest : public HyperVMachineTest {};

TEST_F(HvUnusableArgPagesTest, SlowCallsAreNotUsedAndFastOnesStay) {
  // Find the pages: boot once, and watch where a slow call puts its input.
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  {
    ArgPages args;
    g_args_begin = reinterpret_cast<uintptr_t>(args.input());
  }
  g_args_end = g_args_begin + 4096;  // the boot CPU's, the only area at init
  sim::CpuModel model = model_;
  sim::LoadCpuModel(sim_, model);
  env_ = sim::MakeEnv();
  env_.virt_to_phys = ShiftedArgPages;
  ASSERT_EQ(pvops_init(&env_), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_HYPERV});
  EXPECT_THAT(Info().notes, HasSubstr("hypercall argument pages unusable"));
  EXPECT_EQ(Info().features[3] & (kPathFlushHypercall | kPathFlushEx | kPathClusterIpiEx), 0u);
  EXPECT_NE(Info().features[3] & kPathClusterIpi, 0u) << "the fast form needs no page";
  EXPECT_EQ(CheckArgPages(0), PVOPS_ERR_BAD_DATA);
}

}  // namespace
}  // namespace pvops::test
