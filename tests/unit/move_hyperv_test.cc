// SPDX-License-Identifier: MIT
// Suspend on the simulated Hyper-V partition (tests/hyperv/hv_machine.h): every synthetic MSR
// the backend wrote is written 0 again, per vCPU on that vCPU, then the partition's own; the
// resume on the same partition registers them afresh.
#include <gtest/gtest.h>

#include "backends/hyperv/hv_tlfs.h"
#include "core/move.h"
#include "hv_machine.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;

class MoveHyperVTest : public HyperVMachineTest {
 protected:
  MoveHyperVTest() {
    sim_.OnPause([this] {
      if (sim_.current_cpu() != 0) return;
      for (uint32_t cpu = 1; cpu < sim::kMaxCpus; ++cpu)
        sim_.RunOnCpu(cpu, [] { (void)core::FinishParkForTest(); });
    });
  }
  std::vector<uint64_t> WritesOn(uint32_t cpu, uint32_t msr, size_t from) const {
    std::vector<uint64_t> out;
    const auto& log = sim_.msr_log();
    for (size_t i = from; i < log.size(); ++i)
      if (log[i].write && !log[i].faulted && log[i].cpu == cpu && log[i].msr == msr)
        out.push_back(log[i].value);
    return out;
  }
};

TEST_F(MoveHyperVTest, EverySyntheticMsrIsReleasedAndRegisteredAgain) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  ASSERT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_HYPERV) << pvops_get_info()->fallback;
  DeliverAllIpisAtOnce();
  OnlineCpus(2);
  sim_.SetInterruptsEnabled(true);
  ASSERT_NE(vp_assist_msr_[1], 0u);
  ASSERT_NE(hypercall_msr_, 0u);
  ASSERT_NE(guest_os_id_, 0u);
  const size_t mark = sim_.msr_log().size();
  ASSERT_EQ(pvops_suspend(), PVOPS_OK) << pvops_get_info()->move_reason;
  for (uint32_t cpu = 0; cpu < 2; ++cpu) {
    EXPECT_EQ(WritesOn(cpu, kMsrVpAssistPage, mark), std::vector<uint64_t>{0}) << cpu;
    EXPECT_EQ(WritesOn(cpu, kMsrStimer0Config, mark), std::vector<uint64_t>{0}) << cpu;
    EXPECT_EQ(WritesOn(cpu, kMsrStimer0Count, mark), std::vector<uint64_t>{0}) << cpu;
    EXPECT_EQ(vp_assist_msr_[cpu], 0u);
  }
  EXPECT_EQ(WritesOn(0, kMsrReferenceTsc, mark), std::vector<uint64_t>{0});
  EXPECT_EQ(WritesOn(0, kMsrHypercall, mark), std::vector<uint64_t>{0});
  EXPECT_EQ(WritesOn(0, kMsrGuestOsId, mark), std::vector<uint64_t>{0});
  EXPECT_EQ(reference_tsc_msr_, 0u);
  EXPECT_EQ(hypercall_msr_, 0u);
  EXPECT_EQ(guest_os_id_, 0u) << "cleared after the hypercall page it enables";
  EXPECT_EQ(WritesOn(1, kMsrGuestOsId, mark).size(), 0u) << "VM-wide state: the boot CPU's";

  ASSERT_EQ(pvops_resume(), PVOPS_OK) << pvops_get_info()->move_reason;
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_HYPERV);
  EXPECT_EQ(pvops_get_info()->previous_backend, PVOPS_BACKEND_HYPERV);
  EXPECT_NE(guest_os_id_, 0u);
  EXPECT_NE(hypercall_msr_, 0u);
  EXPECT_NE(vp_assist_msr_[0], 0u);
  EXPECT_NE(vp_assist_msr_[1], 0u) << "CPU 1 came back online on the new backend";
}

}  // namespace
}  // namespace pvops::test
