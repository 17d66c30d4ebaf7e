// SPDX-License-Identifier: MIT
// IPIs: the fast cluster-IPI hypercall for VP indexes below 64, the Ex form above, and without
// the cluster hint the synthetic ICR (APIC-access hint) or the LAPIC itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/hyperv/hv_apic.h"
#include "backends/hyperv/hyperv.h"
#include "hv_machine.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint8_t kVector = 0x40;

pvops_cpuset Cpus(std::initializer_list<uint32_t> cpus) {
  pvops_cpuset set;
  pvops_cpuset_clear(&set);
  for (uint32_t c : cpus) pvops_cpuset_add(&set, c);
  return set;
}

class HvIpiTest : public HyperVMachineTest {
 protected:
  void Start(uint32_t cpus = 3) {
    ASSERT_EQ(BootHyperV(), PVOPS_OK);
    OnlineCpus(cpus);
    for (uint32_t cpu = 0; cpu < cpus; ++cpu) {
      sim_.RunOnCpu(cpu, [] {
        ASSERT_EQ(pvops_register_handler(
                      kVector,
                      [](uint8_t, void* ctx) {
                        ++static_cast<std::array<int, sim::kMaxCpus>*>(ctx)->at(
                            sim::Current().current_cpu());
                      },
                      &handled_),
                  PVOPS_OK);
      });
    }
    DeliverAllIpisAtOnce();
    calls_.clear();
    sim_.ClearLogs();
  }
  static std::array<int, sim::kMaxCpus> handled_;
};
std::array<int, sim::kMaxCpus> HvIpiTest::handled_;

TEST_F(HvIpiTest, VpIndexesBelow64TakeTheFastClusterIpi) {
  handled_ = {};
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].code, kCallSendSyntheticClusterIpi);
  EXPECT_TRUE(calls_[0].fast);
  EXPECT_EQ(calls_[0].rdx, kVector);
  EXPECT_EQ(calls_[0].r8, 0b110u);
  EXPECT_THAT(lapic_.sent(), IsEmpty());
  EXPECT_THAT(icr_writes_, IsEmpty());
  EXPECT_EQ(handled_[1], 1);
  EXPECT_EQ(handled_[2], 1);
  EXPECT_EQ(CounterValue(core::Counter::kIpiHypercalls), 1u);
  EXPECT_EQ(CounterValue(core::Counter::kIpisSent), 2u);
}

TEST_F(HvIpiTest, TheCallerMayBeInTheSet) {
  handled_ = {};
  Start();
  const pvops_cpuset set = Cpus({0, 1});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].r8, 0b11u);
  EXPECT_EQ(handled_[0], 1);
}

TEST_F(HvIpiTest, HigherVpIndexesTakeTheExFormWithSparseBanks) {
  handled_ = {};
  vp_index_[1] = 3;
  vp_index_[2] = 130;  // bank 2, bit 2
  Start();
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  ASSERT_EQ(calls_.size(), 1u);
  const HvCall& c = calls_[0];
  EXPECT_EQ(c.code, kCallSendSyntheticClusterIpiEx);
  EXPECT_FALSE(c.fast);
  EXPECT_EQ(c.var_header_qwords, 2u);
  EXPECT_EQ(c.input[0], kVector);  // vector, reserved 0
  EXPECT_EQ(c.input[1], kVpSetFormatSparse4k);
  EXPECT_EQ(c.input[2], 0b101u);
  EXPECT_EQ(c.input[3], uint64_t{1} << 3);
  EXPECT_EQ(c.input[4], uint64_t{1} << 2);
  EXPECT_EQ(handled_[1], 1);
  EXPECT_EQ(handled_[2], 1);
}

TEST_F(HvIpiTest, WithoutTheExHintHighVpIndexesUseTheSyntheticIcr) {
  handled_ = {};
  hv_.hints &= ~kHintExProcessorMasks;
  vp_index_[2] = 130;
  Start();
  const pvops_cpuset set = Cpus({2});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_THAT(calls_, IsEmpty());
  EXPECT_THAT(icr_writes_, ElementsAre(uint64_t{2} << 56 | kVector));
  EXPECT_EQ(handled_[2], 1);
}

TEST_F(HvIpiTest, WithoutTheClusterHintIpisUseTheSyntheticIcr) {
  handled_ = {};
  hv_.hints &= ~kHintClusterIpi;
  Start();
  EXPECT_EQ(pvops_table.irq.send_ipi, SendIpiByIcrMsr);
  const pvops_cpuset set = Cpus({1, 2});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_THAT(calls_, IsEmpty());
  EXPECT_THAT(icr_writes_, ElementsAre(uint64_t{1} << 56 | kVector, uint64_t{2} << 56 | kVector));
  EXPECT_THAT(lapic_.sent(), IsEmpty());
  EXPECT_EQ(handled_[1] + handled_[2], 2);
}

TEST_F(HvIpiTest, InX2apicModeTheSyntheticIcrTakesA32BitDestination) {
  hv_.hints &= ~kHintClusterIpi;
  lapic_.SetX2apic(true);
  x2apic_ = true;
  Start();
  const pvops_cpuset set = Cpus({2});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_THAT(icr_writes_, ElementsAre(uint64_t{2} << 32 | kVector));
}

TEST_F(HvIpiTest, WithNeitherHintIpisUseTheLapic) {
  handled_ = {};
  hv_.hints = 0;
  Start();
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_THAT(calls_, IsEmpty());
  EXPECT_THAT(icr_writes_, IsEmpty());
  ASSERT_EQ(lapic_.sent().size(), 1u);
  EXPECT_EQ(lapic_.sent()[0].destination, 1u);
  EXPECT_EQ(handled_[1], 1);
}

TEST_F(HvIpiTest, ARefusedIpiHypercallIsDeliveredAnotherWayAndNotTriedAgain) {
  handled_ = {};
  Start();
  answer_ = [](const HvCall&) { return Status(kHvStatusAccessDenied); };
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_THAT(icr_writes_, ElementsAre(uint64_t{1} << 56 | kVector));
  EXPECT_EQ(handled_[1], 1);
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(handled_[1], 2);
}

TEST_F(HvIpiTest, AFailedButNotRefusedCallKeepsThePath) {
  Start();
  answer_ = [](const HvCall&) { return Status(kHvStatusInsufficientBuffers); };
  const pvops_cpuset set = Cpus({1});
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  ASSERT_EQ(pvops_send_ipi(&set, kVector), PVOPS_OK);
  EXPECT_EQ(calls_.size(), 2u);
}

TEST_F(HvIpiTest, OfflineTargetsAndExceptionVectorsAreInvalid) {
  Start(2);
  const pvops_cpuset offline = Cpus({1, 4});
  EXPECT_EQ(pvops_send_ipi(&offline, kVector), PVOPS_ERR_INVALID);
  const pvops_cpuset set = Cpus({1});
  EXPECT_EQ(pvops_send_ipi(&set, 0x1f), PVOPS_ERR_INVALID);
  EXPECT_THAT(calls_, IsEmpty());
}

}  // namespace
}  // namespace pvops::test
