// SPDX-License-Identifier: MIT
// The platform ops on Xen PV (console, shutdown, vCPU bring-up, the kernel's entry points), the
// raw hypercall op, and how Xen's -errno results become the library's statuses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <xen/errno.h>
#include <xen/version.h>

#include "fake_xen.h"

namespace pvops::test {
namespace {

constexpr uint16_t kDebugExitPort = 0xf4;

extern "C" void FakeApEntry(uint32_t) {}

class XenPlatformTest : public XenPvTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(BootPv(), PVOPS_OK);
    ClearRecords();
  }
  // Three traps and the terminator, as a kernel's table would be.
  trap_info traps_[4] = {{0, 0, FLAT_KERNEL_CS, 0x1000},
                         {13, 0, FLAT_KERNEL_CS, 0x1100},
                         {14, 0, FLAT_KERNEL_CS, 0x1200},
                         {0, 0, 0, 0}};
};

TEST_F(XenPlatformTest, ConsoleIsConsoleIo) {
  pvops_console_write("hello xen\n", 10);
  EXPECT_EQ(console_, "hello xen\n");
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].nr, uint32_t{__HYPERVISOR_console_io});
  EXPECT_EQ(calls_[0].args[0], uint64_t{CONSOLEIO_write});
}

TEST_F(XenPlatformTest, Dom0ShutdownTakesTheIoplThenTheExitPort) {
  EXPECT_EXIT(
      {
        sim_.HandlePorts(kDebugExitPort, kDebugExitPort + 3, nullptr,
                         [this](uint16_t, uint8_t, uint32_t value) {
                           // The code reaches the port only after iopl 1 was granted.
                           _exit(iopl_ == std::vector<uint32_t>{1} ? static_cast<int>(value) : 99);
                         });
        pvops_shutdown(0x10);
      },
      ::testing::ExitedWithCode(0x10), "");
}

TEST_F(XenPlatformTest, DomUShutdownIsAReboot) {
  // Never poweroff: under QEMU that leaves Xen halted instead of ending the run.
  StartInfo().flags = 0;
  ASSERT_EQ(BootPv(), PVOPS_OK);
  EXPECT_EXIT(
      {
        sim_.HandlePorts(kDebugExitPort, kDebugExitPort + 3, nullptr,
                         [](uint16_t, uint8_t, uint32_t) { _exit(98); });
        on_shutdown_ = [](uint32_t reason) { _exit(40 + static_cast<int>(reason)); };
        pvops_shutdown(0x11);
      },
      ::testing::ExitedWithCode(40 + SHUTDOWN_reboot), "");
}

TEST_F(XenPlatformTest, EarlyExitReachesTheExitPortAsDom0BeforeAnyBackend) {
  EXPECT_EXIT(
      {
        sim_.HandlePorts(kDebugExitPort, kDebugExitPort + 3, nullptr,
                         [this](uint16_t, uint8_t, uint32_t value) {
                           _exit(iopl_ == std::vector<uint32_t>{1} ? static_cast<int>(value) : 99);
                         });
        pvops_xen_pv_early_exit(&StartInfo(), 0x12);
      },
      ::testing::ExitedWithCode(0x12), "");
  // A start_info that fails its checks is not trusted to say dom0: straight to the reboot.
  StartInfo().nr_pages = 0;
  EXPECT_EXIT(
      {
        sim_.HandlePorts(kDebugExitPort, kDebugExitPort + 3, nullptr,
                         [](uint16_t, uint8_t, uint32_t) { _exit(98); });
        on_shutdown_ = [](uint32_t reason) { _exit(40 + static_cast<int>(reason)); };
        pvops_xen_pv_early_exit(&StartInfo(), 0x12);
      },
      ::testing::ExitedWithCode(40 + SHUTDOWN_reboot), "");
}

TEST_F(XenPlatformTest, EntryPointsRegisterTrapsAndCallbacks) {
  ASSERT_EQ(pvops_xen_pv_set_entry_points(traps_, 0x2000, 0x2100), PVOPS_OK);
  EXPECT_EQ(trap_tables_, std::vector<uint64_t>{reinterpret_cast<uintptr_t>(traps_)});
  ASSERT_EQ(callbacks_.size(), 2u);
  EXPECT_EQ(callbacks_[0].type, CALLBACKTYPE_event);
  EXPECT_EQ(callbacks_[0].address, 0x2000u);
  EXPECT_EQ(callbacks_[1].type, CALLBACKTYPE_failsafe);
  EXPECT_EQ(callbacks_[1].flags, CALLBACKF_mask_events);
  EXPECT_EQ(callbacks_[1].address, 0x2100u);
  EXPECT_EQ(pvops_xen_pv_set_entry_points(nullptr, 0x2000, 0x2100), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_xen_pv_set_entry_points(traps_, 0, 0x2100), PVOPS_ERR_INVALID);
  static trap_info endless[256];
  for (uint32_t i = 0; i < 256; ++i)
    endless[i] = {static_cast<uint8_t>(i), 0, FLAT_KERNEL_CS, 0x3000};
  EXPECT_EQ(pvops_xen_pv_set_entry_points(endless, 0x2000, 0x2100), PVOPS_ERR_INVALID)
      << "no terminator where Xen stops reading";
}

TEST_F(XenPlatformTest, StartCpuBuildsTheVcpuContextThenBringsItUp) {
  pvops_cpu_start start{0, FakeApEntry, 0x7000'0000'4000, kRootPfn * 4096};
  EXPECT_EQ(pvops_start_cpu(1, 1, &start), PVOPS_ERR_UNSUPPORTED) << "no trap table yet";
  ASSERT_EQ(pvops_xen_pv_set_entry_points(traps_, 0x2000, 0x2100), PVOPS_OK);
  Vcpu(1).evtchn_upcall_mask = 0;
  EXPECT_EQ(pvops_start_cpu(1, 1, &start), PVOPS_ERR_NO_CPU_AREA) << "its area comes first";
  EXPECT_TRUE(vcpu_contexts_.empty());
  ASSERT_EQ(pvops_set_cpu_area(1, NewCpuArea()), PVOPS_OK);
  ASSERT_EQ(pvops_start_cpu(1, 1, &start), PVOPS_OK);
  ASSERT_EQ(vcpu_contexts_.size(), 1u);
  EXPECT_EQ(vcpu_contexts_[0].first, 1u);
  const vcpu_guest_context& ctx = vcpu_contexts_[0].second;
  EXPECT_EQ(ctx.user_regs.rip, reinterpret_cast<uintptr_t>(&FakeApEntry));
  EXPECT_EQ(ctx.user_regs.rsp, start.stack_top - 8);
  EXPECT_EQ(ctx.user_regs.rdi, 1u) << "entry(cpu)";
  EXPECT_EQ(ctx.user_regs.cs, FLAT_KERNEL_CS);
  EXPECT_EQ(ctx.user_regs.ss, FLAT_KERNEL_SS);
  EXPECT_NE(ctx.flags & VGCF_in_kernel, 0u);
  EXPECT_EQ(ctx.ctrlreg[3], MfnOf(kRootPfn) << 12) << "CR3 as a machine address";
  EXPECT_EQ(ctx.kernel_sp, start.stack_top);
  EXPECT_EQ(ctx.event_callback_eip, 0x2000u);
  EXPECT_EQ(ctx.failsafe_callback_eip, 0x2100u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ctx.trap_ctxt[i].vector, traps_[i].vector);
    EXPECT_EQ(ctx.trap_ctxt[i].address, traps_[i].address);
  }
  EXPECT_EQ(ctx.trap_ctxt[3].address, 0u);
  EXPECT_EQ(vcpus_up_, std::vector<uint32_t>{1});
  EXPECT_EQ(Vcpu(1).evtchn_upcall_mask, 1) << "the entry runs with events masked";
  // Its cpu_init then binds its own ports.
  sim_.RunOnCpu(1, [] { ASSERT_EQ(pvops_cpu_online(1), PVOPS_OK); });
  EXPECT_NE(PortOf(FakePort::kVirq, 1, VIRQ_TIMER), 0u);
}

TEST_F(XenPlatformTest, StartCpuRefusesWhatXenCannotRun) {
  ASSERT_EQ(pvops_xen_pv_set_entry_points(traps_, 0x2000, 0x2100), PVOPS_OK);
  pvops_cpu_start start{0, FakeApEntry, 0x7000'0000'4000, kRootPfn * 4096};
  EXPECT_EQ(pvops_start_cpu(0, 0, &start), PVOPS_ERR_INVALID) << "the boot vCPU runs already";
  EXPECT_EQ(pvops_start_cpu(32, 32, &start), PVOPS_ERR_INVALID) << "past the vcpu_info slots";
  start.entry = nullptr;
  EXPECT_EQ(pvops_start_cpu(1, 1, &start), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_start_cpu(1, 1, nullptr), PVOPS_ERR_INVALID);
  EXPECT_TRUE(vcpu_contexts_.empty());
  EXPECT_EQ(pvops_table.platform.cpu_init(40), PVOPS_ERR_UNSUPPORTED);
  // Xen's refusal comes back as a status.
  answer_ = [](const XenCall& c) {
    return c.nr == __HYPERVISOR_vcpu_op ? -XEN_EEXIST : kFallThrough;
  };
  start.entry = FakeApEntry;
  ASSERT_EQ(pvops_set_cpu_area(1, NewCpuArea()), PVOPS_OK);
  EXPECT_EQ(pvops_start_cpu(1, 1, &start), PVOPS_ERR_BUSY);
}

TEST_F(XenPlatformTest, RawHypercallsGoThroughThePage) {
  int64_t result = 0;
  ASSERT_EQ(pvops_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0, &result),
            PVOPS_OK);
  EXPECT_EQ(result, int64_t{kXenVersion});
  EXPECT_EQ(pvops_hypercall(__HYPERVISOR_iret, 0, 0, 0, 0, 0, &result), PVOPS_ERR_INVALID)
      << "iret's stub never returns";
  EXPECT_EQ(pvops_hypercall(128, 0, 0, 0, 0, 0, &result), PVOPS_ERR_INVALID);
  ASSERT_EQ(pvops_hypercall(99, 1, 2, 3, 4, 5, &result), PVOPS_OK);
  EXPECT_EQ(result, -XEN_ENOSYS);
  const XenCall& last = calls_.back();
  EXPECT_EQ(last.nr, 99u);
  EXPECT_EQ(last.args[0], 1u);
  EXPECT_EQ(last.args[4], 5u) << "the fifth argument travels in r8";
  EXPECT_EQ(sim_.hypercalls().back().stub, pvops_xen_hypercall_page + 99 * 32);
}

TEST(XenStatusTest, XensErrnoValuesBecomeStatuses) {
  using xen::StatusFromXen;
  EXPECT_EQ(StatusFromXen(0), PVOPS_OK);
  EXPECT_EQ(StatusFromXen(7), PVOPS_ERR_BAD_DATA)
      << "every call made through here answers 0 on success: 7 is not Xen answering";
  EXPECT_EQ(StatusFromXen(-XEN_ENOSYS), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(StatusFromXen(-XEN_EOPNOTSUPP), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(StatusFromXen(-XEN_EPERM), PVOPS_ERR_DENIED);
  EXPECT_EQ(StatusFromXen(-XEN_EACCES), PVOPS_ERR_DENIED);
  EXPECT_EQ(StatusFromXen(-XEN_EINVAL), PVOPS_ERR_INVALID);
  EXPECT_EQ(StatusFromXen(-XEN_ENOENT), PVOPS_ERR_INVALID);
  EXPECT_EQ(StatusFromXen(-XEN_ESRCH), PVOPS_ERR_INVALID);
  EXPECT_EQ(StatusFromXen(-XEN_EFAULT), PVOPS_ERR_FAULT);
  EXPECT_EQ(StatusFromXen(-XEN_EAGAIN), PVOPS_ERR_BUSY);
  EXPECT_EQ(StatusFromXen(-XEN_EBUSY), PVOPS_ERR_BUSY);
  EXPECT_EQ(StatusFromXen(-XEN_EEXIST), PVOPS_ERR_BUSY);
  EXPECT_EQ(StatusFromXen(-XEN_ENOMEM), PVOPS_ERR_NO_RESOURCE);
  EXPECT_EQ(StatusFromXen(-XEN_ENOSPC), PVOPS_ERR_NO_RESOURCE);
  EXPECT_EQ(StatusFromXen(-XEN_ETIME), PVOPS_ERR_TIMEOUT);
  EXPECT_EQ(StatusFromXen(-XEN_EIO), PVOPS_ERR_HYPERVISOR);
  EXPECT_EQ(StatusFromXen(-1000), PVOPS_ERR_HYPERVISOR);
}

}  // namespace
}  // namespace pvops::test
