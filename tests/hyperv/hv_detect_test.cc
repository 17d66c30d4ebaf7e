// SPDX-License-Identifier: MIT
// Detection and init: what pvops_info reports, the guest OS ID, the hypercall page and how it
// is checked, the VP index of every CPU, and init refusing a partition it cannot use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/kvm_para.h>

#include <cstring>
#include <string>

#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hyperv.h"
#include "backends/native/native.h"
#include "hv_machine.h"
#include "hw/lapic.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;
using ::testing::HasSubstr;
using ::testing::Not;

class HvDetectTest : public HyperVMachineTest {};

TEST_F(HvDetectTest, InfoCarriesPrivilegesHintsAndLimits) {
  hv_.max_vps = 240;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_HYPERV});
  EXPECT_STREQ(Info().signature, "Microsoft Hv");
  EXPECT_EQ(Info().base_leaf, 0x40000000u);
  EXPECT_EQ(Info().max_leaf, 0x40000005u);
  EXPECT_EQ(Info().version, 0x000a0000u);
  EXPECT_EQ(Info().features[0], hv_.privileges);
  EXPECT_EQ(Info().features[1], hv_.hints);
  EXPECT_EQ(Info().features[2], 240u);
  const uint32_t all_paths =
      kPathGuestOsId | kPathHypercallPage | kPathTscPageClock | kPathRefCounterClock |
      kPathFrequencyMsrs | kPathVpIndex | kPathApicMsrs | kPathVpAssistEoi | kPathFlushHypercall |
      kPathFlushEx | kPathClusterIpi | kPathClusterIpiEx | kPathStimerDirect | kPathLongSpinWait;
  EXPECT_EQ(Info().features[3], all_paths);
  EXPECT_STREQ(Info().fallback, "");
  EXPECT_STREQ(Info().notes, "") << "every path on";
  EXPECT_EQ(EmptySlotOf(pvops_table), "");
}

// pvops_init again with another choice gives the table and info one call with that choice
// gives: nothing of the first backend's is left (KVM, offered above Hyper-V, as KVM does).
TEST_F(HvDetectTest, ASecondInitMatchesOneInitWithItsChoice) {
  DescribePartition();
  constexpr uint32_t kKvmBase = 0x40000100;
  sim_.SetHypervisorLeaf(kKvmBase, kKvmBase + 1, std::string_view(KVM_SIGNATURE, 12));
  sim_.SetCpuid(kKvmBase + 1, {(1u << KVM_FEATURE_NOP_IO_DELAY) | (1u << KVM_FEATURE_STEAL_TIME) |
                                   (1u << KVM_FEATURE_PV_SEND_IPI),
                               0, 0, 0});
  const auto init = [this](const char* cmdline) {
    env_ = sim::MakeEnv(cmdline);
    return pvops_init(&env_);
  };

  ASSERT_EQ(init("pvops=hyperv"), PVOPS_OK);
  ASSERT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_HYPERV}) << Info().fallback;
  const pvops_ops once_table = pvops_table;
  const pvops_info once_info = Info();

  ASSERT_EQ(init(nullptr), PVOPS_OK);
  ASSERT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_KVM}) << Info().fallback;
  ASSERT_NE(pvops_table.cpu.io_delay, once_table.cpu.io_delay) << "KVM's own io_delay";
  ASSERT_EQ(init("pvops=hyperv"), PVOPS_OK);

  EXPECT_EQ(std::memcmp(&pvops_table, &once_table, sizeof(pvops_ops)), 0);
  EXPECT_EQ(pvops_table.cpu.io_delay, once_table.cpu.io_delay);
  EXPECT_EQ(pvops_table.time.steal_ns, once_table.time.steal_ns);
  EXPECT_STREQ(Info().reason, once_info.reason);
  EXPECT_STREQ(Info().fallback, once_info.fallback);
  EXPECT_STREQ(Info().notes, once_info.notes);
  EXPECT_EQ(Info().paravirt, once_info.paravirt);
  EXPECT_EQ(std::memcmp(&Info(), &once_info, sizeof(pvops_info)), 0);
}

TEST_F(HvDetectTest, TheInterfaceIsRecognisedByHv1WhateverTheVendor) {
  hv_.vendor = "Linux KVM Hv";  // KVM_GET_SUPPORTED_HV_CPUID's own vendor leaf
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_HYPERV});
  EXPECT_STREQ(Info().signature, "Linux KVM Hv");
}

TEST_F(HvDetectTest, AVendorLeafWithoutHv1IsNotHyperV) {
  hv_.interface = 0x566e6258;  // "XbNv": the Xbox nanovisor, not the Hv#1 interface
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_EQ(Info().candidate_count, 0u);
}

TEST_F(HvDetectTest, RegistersAnOpenSourceGuestIdBeforeTheHypercallPage) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  // TLFS layout: open source (bit 63), OS type 0 "undefined" (62:56), OS id 0 (55:48),
  // version (47:16) = the ABI version, build 0 (15:0).
  EXPECT_EQ(guest_os_id_, (uint64_t{1} << 63) | (uint64_t{PVOPS_ABI_VERSION} << 16));
  EXPECT_EQ(GuestOsId(), guest_os_id_);
  size_t id_write = SIZE_MAX, page_write = SIZE_MAX;
  const auto& log = sim_.msr_log();
  for (size_t i = 0; i < log.size(); ++i) {
    if (!log[i].write) continue;
    if (log[i].msr == kMsrGuestOsId && id_write == SIZE_MAX) id_write = i;
    if (log[i].msr == kMsrHypercall && page_write == SIZE_MAX) page_write = i;
  }
  ASSERT_NE(id_write, SIZE_MAX);
  ASSERT_NE(page_write, SIZE_MAX);
  EXPECT_LT(id_write, page_write);
}

TEST_F(HvDetectTest, TheHypercallPageIsAWholePageTheHypervisorFilled) {
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  const auto page = reinterpret_cast<uintptr_t>(HypercallPage());
  EXPECT_EQ(page % 4096, 0u);
  EXPECT_EQ(hypercall_msr_, page | 1);
  EXPECT_TRUE(HypercallPageReady());
  EXPECT_EQ(HypercallPage()[0], 0x0f);  // what the simulated hypervisor wrote
  ASSERT_FALSE(calls_.empty());
  EXPECT_EQ(calls_[0].control, 0u) << "the boot probe: reserved code 0";
}

TEST_F(HvDetectTest, APageLeftAllZeroIsRefusedAndHypercallsStayOff) {
  fill_hypercall_page_ = false;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_HYPERV});  // the MSR paths still work
  EXPECT_FALSE(HypercallPageReady());
  EXPECT_EQ(hypercall_msr_, 0u) << "the page is disabled again";
  EXPECT_THAT(Info().notes, HasSubstr("hypercall page stayed all zero"));
  EXPECT_EQ(Info().features[3] &
                (kPathHypercallPage | kPathFlushHypercall | kPathClusterIpi | kPathLongSpinWait),
            0u);
  EXPECT_NE(Info().features[3] & kPathTscPageClock, 0u);
  int64_t result = -1;
  EXPECT_EQ(pvops_hypercall(0x10008, 1, 0, 0, 0, 0, &result), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(result, 0);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(HvDetectTest, APageThatDoesNotAnswerLikeAHypervisorIsRefused) {
  answer_ = [](const HvCall&) { return Success(); };  // code 0 "succeeds": not a hypervisor
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].control, 0u);
  EXPECT_FALSE(HypercallPageReady());
  EXPECT_EQ(hypercall_msr_, 0u);
  EXPECT_THAT(Info().notes, HasSubstr("probe call answered HV_STATUS_SUCCESS"));
  EXPECT_EQ(pvops_table.hypercall.call, native::Hypercall);
}

TEST_F(HvDetectTest, WithoutTheHypercallPrivilegeNoIdAndNoPage) {
  hv_.privileges &= ~kPrivHypercallMsrs;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(guest_os_id_, 0u);
  EXPECT_TRUE(sim_.MsrWrites(kMsrGuestOsId).empty());
  EXPECT_TRUE(sim_.MsrWrites(kMsrHypercall).empty());
  EXPECT_THAT(Info().notes, HasSubstr("no hypercall MSR privilege"));
  EXPECT_EQ(Info().features[3] & kPathHypercallPage, 0u);
}

TEST_F(HvDetectTest, AHypercallMsrLockedAtAnotherPageIsRefused) {
  hypercall_msr_locked_at_ = 0x7000;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_FALSE(HypercallPageReady());
  EXPECT_THAT(Info().notes, HasSubstr("HV_X64_MSR_HYPERCALL locked at 0x7000"));
  EXPECT_TRUE(sim_.MsrWrites(kMsrHypercall).empty());
}

TEST_F(HvDetectTest, AHypervisorThatIgnoresTheMsrIsCaught) {
  // KVM drops the write while no guest OS ID is set; here the ID write "succeeds" but is lost.
  sim_.HandleMsrs(
      kMsrGuestOsId, kMsrGuestOsId, [](uint32_t) { return std::optional<uint64_t>(0); },
      [](uint32_t, uint64_t) { return true; });
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_FALSE(HypercallPageReady());
  EXPECT_THAT(Info().notes, HasSubstr("HV_X64_MSR_HYPERCALL reads 0x0 after enabling"));
}

TEST_F(HvDetectTest, NothingUsableRefusesTheBackendWithTheReason) {
  hv_.privileges = 0;
  hv_.hints = 0;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  EXPECT_EQ(Info().backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_THAT(Info().fallback,
              HasSubstr("hyperv init failed (unsupported): no usable enlightenment "
                        "(privileges 0x0, hints 0x0)"));
  EXPECT_EQ(pvops_table.irq.eoi, hw::LapicEoi);
}

TEST_F(HvDetectTest, EveryCpuReadsItsOwnVpIndexInCpuInit) {
  vp_index_ = {3, 9, 4, 0, 0, 0, 0, 0};
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  OnlineCpus(3);
  for (uint32_t cpu = 0; cpu < 3; ++cpu) {
    uint32_t vp = 0;
    ASSERT_TRUE(VpIndexOf(cpu, &vp)) << cpu;
    EXPECT_EQ(vp, vp_index_[cpu]) << cpu;
    bool read_on_cpu = false;
    for (const sim::MsrAccess& a : sim_.msr_log())
      read_on_cpu |= a.msr == kMsrVpIndex && !a.write && a.cpu == cpu;
    EXPECT_TRUE(read_on_cpu) << "cpu " << cpu << " read someone else's VP index";
  }
  uint32_t vp;
  EXPECT_FALSE(VpIndexOf(3, &vp)) << "an offline CPU has none";
}

TEST_F(HvDetectTest, AVpIndexAtOrBeyondTheStatedLimitIsNotUsed) {
  hv_.max_vps = 4;
  vp_index_[1] = 4;
  ASSERT_EQ(BootHyperV(), PVOPS_OK);
  OnlineCpus(2);
  uint32_t vp;
  EXPECT_TRUE(VpIndexOf(0, &vp));
  EXPECT_FALSE(VpIndexOf(1, &vp));
}

}  // namespace
}  // namespace pvops::test
