// SPDX-License-Identifier: MIT
// What a PV kernel needs from its first instruction on (pvops_early_init) and the kernel group
// on Xen PV: the trap table built from the kernel's IDT, Xen's own GDT, CR2 from vcpu_info.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include <xen/errno.h>

#include "core/backend.h"
#include "fake_xen.h"

extern "C" const char pvops_xen_pv_trap_entries[];
extern "C" const char pvops_xen_pv_event_entry[];
extern "C" const char pvops_xen_pv_failsafe_entry[];
extern "C" uint64_t pvops_xen_pv_gate_targets[32];

namespace pvops::test {
namespace {

constexpr uint16_t kDebugExitPort = 0xf4;
constexpr uint64_t kIf = 1u << 9;

struct Gate {
  uint64_t low, high;
};

// A present 64-bit gate (type 0xe interrupt, 0xf trap) at `offset`.
Gate MakeGate(uint64_t offset, uint8_t dpl = 0, uint8_t type = 0xe) {
  const uint64_t attributes = 0x80u | uint64_t{dpl} << 5 | type;
  return Gate{
      (offset & 0xffff) | uint64_t{0x08} << 16 | attributes << 40 | ((offset >> 16) & 0xffff) << 48,
      offset >> 32};
}

class XenPvEarlyTest : public XenPvTest {
 protected:
  ~XenPvEarlyTest() override {
    // The dummy vcpu_info the early mask lives in outlasts the test: masked, as Xen enters.
    if (pvops_table.irq.disable != core::kNativeOps.irq.disable) pvops_irq_disable();
    pvops_table = core::kNativeOps;
  }
};

TEST_F(XenPvEarlyTest, TheTableWorksInRingThreeFromTheFirstInstruction) {
  FillPvStubs();
  ASSERT_EQ(pvops_early_init(PVOPS_ENTRY_XEN_PV, &StartInfo()), PVOPS_OK);
  sim_.ResetExits();
  pvops_console_write("early\n", 6);
  EXPECT_EQ(console_, "early\n");
  EXPECT_EQ(CallsTo(__HYPERVISOR_console_io).size(), 1u);
  EXPECT_EQ(pvops_save_flags() & kIf, 0u) << "Xen enters with events masked";
  pvops_irq_enable();
  EXPECT_EQ(pvops_save_flags() & kIf, kIf);
  pvops_irq_disable();
  EXPECT_EQ(pvops_save_flags() & kIf, 0u);
  EXPECT_EQ(sim_.exits(sim::Exit::kCli) + sim_.exits(sim::Exit::kSti) +
                sim_.exits(sim::Exit::kSaveFlags) + sim_.exits(sim::Exit::kPortOut),
            0u)
      << "nothing privileged";
  EXPECT_EQ(pvops_table.kernel.load_idt, &xen::PvLoadIdt);
  EXPECT_EQ(pvops_read_cr2(), 0u) << "no shared_info before pvops_init";
  // pvops_init replaces them with the backend's full set.
  ASSERT_EQ(BootPv(), PVOPS_OK);
  EXPECT_EQ(pvops_table.platform.shutdown, &xen::Shutdown);
  EXPECT_NE(Info().paravirt & PVOPS_PV_CPU_TABLES, 0u);
}

TEST_F(XenPvEarlyTest, TheEarlyShutdownTakesTheExitPortAsDom0) {
  FillPvStubs();
  ASSERT_EQ(pvops_early_init(PVOPS_ENTRY_XEN_PV, &StartInfo()), PVOPS_OK);
  EXPECT_EXIT(
      {
        sim_.HandlePorts(kDebugExitPort, kDebugExitPort + 3, nullptr,
                         [this](uint16_t, uint8_t, uint32_t value) {
                           _exit(iopl_ == std::vector<uint32_t>{1} ? static_cast<int>(value) : 99);
                         });
        pvops_shutdown(0x13);
      },
      ::testing::ExitedWithCode(0x13), "");
}

TEST_F(XenPvEarlyTest, ABadStartInfoGetsTheConsoleAndARebootOnly) {
  FillPvStubs();
  StartInfo().nr_pages = 0;
  EXPECT_EQ(pvops_early_init(PVOPS_ENTRY_XEN_PV, &StartInfo()), PVOPS_ERR_BAD_DATA);
  pvops_console_write("why\n", 4);
  EXPECT_EQ(console_, "why\n");
  EXPECT_EQ(pvops_table.irq.disable, core::kNativeOps.irq.disable);
  EXPECT_EQ(pvops_table.kernel.load_idt, core::kNativeOps.kernel.load_idt);
  EXPECT_EXIT(
      {
        sim_.HandlePorts(kDebugExitPort, kDebugExitPort + 3, nullptr,
                         [](uint16_t, uint8_t, uint32_t) { _exit(98); });
        on_shutdown_ = [](uint32_t reason) { _exit(40 + static_cast<int>(reason)); };
        pvops_shutdown(0x13);
      },
      ::testing::ExitedWithCode(40 + SHUTDOWN_reboot), "")
      << "not trusted to say dom0";
}

TEST_F(XenPvEarlyTest, AnUnfilledHypercallPageChangesNothing) {
  EXPECT_EQ(pvops_early_init(PVOPS_ENTRY_XEN_PV, &StartInfo()), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(std::memcmp(&pvops_table, &core::kNativeOps, sizeof(pvops_ops)), 0);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(XenPvEarlyTest, NativeChosenOnAPvEntryKeepsTheEntrysOps) {
  // Chosen here by the command line; the same happens when the Xen backend's init fails.
  ASSERT_EQ(BootPv("pvops=native"), PVOPS_OK);
  ASSERT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_NATIVE);
  ClearRecords();
  sim_.ResetExits();
  pvops_console_write("native\n", 7);
  EXPECT_EQ(console_, "native\n");
  EXPECT_EQ(CallsTo(__HYPERVISOR_console_io).size(), 1u);
  pvops_irq_disable();
  EXPECT_EQ(pvops_save_flags() & kIf, 0u);
  EXPECT_EQ(sim_.exits(sim::Exit::kCli) + sim_.exits(sim::Exit::kSaveFlags) +
                sim_.exits(sim::Exit::kPortOut),
            0u)
      << "a ring-3 kernel took a native op";
}

class XenPvKernelOpsTest : public XenPvTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(BootPv(), PVOPS_OK);
    ClearRecords();
    for (uint32_t vector = 0; vector < 32; ++vector)
      idt_[vector] =
          MakeGate(kHandlers + 0x10 * vector, vector == 3 ? 3 : 0, vector % 2 ? 0xf : 0xe);
    idt_[15] = Gate{0, 0};  // reserved: no gate
  }
  static constexpr uint64_t kHandlers = 0xffff'ffff'8010'0000;
  alignas(16) Gate idt_[256] = {};
};

TEST_F(XenPvKernelOpsTest, LoadIdtRegistersATrapTableBuiltFromTheGates) {
  ASSERT_EQ(pvops_load_idt(idt_, sizeof(idt_) - 1), PVOPS_OK);
  ASSERT_EQ(trap_tables_.size(), 1u);
  const auto* traps = reinterpret_cast<const trap_info*>(trap_tables_[0]);
  uint32_t n = 0;
  for (uint32_t vector = 0; vector < 32; ++vector) {
    if (vector == 2 || vector == 15) continue;  // NMI is Xen's callback; 15 has no gate
    const trap_info& t = traps[n++];
    EXPECT_EQ(t.vector, vector);
    // The gate's DPL, and events masked on the way in where an interrupt gate clears IF.
    EXPECT_EQ(t.flags, (vector == 3 ? 3 : 0) | (vector % 2 ? 0 : 4)) << vector;
    EXPECT_EQ(t.cs, FLAT_KERNEL_CS);
    EXPECT_EQ(t.address, reinterpret_cast<uintptr_t>(pvops_xen_pv_trap_entries) + 9 * vector);
    EXPECT_EQ(pvops_xen_pv_gate_targets[vector], kHandlers + 0x10 * vector);
  }
  EXPECT_EQ(n, 30u);
  EXPECT_EQ(traps[30].address, 0u) << "the terminator";
  EXPECT_EQ(pvops_xen_pv_gate_targets[2], kHandlers + 0x20) << "NMI's handler is known";
  EXPECT_EQ(pvops_xen_pv_gate_targets[15], 0u);
  ASSERT_EQ(callbacks_.size(), 2u);
  EXPECT_EQ(callbacks_[0].type, CALLBACKTYPE_event);
  EXPECT_EQ(callbacks_[0].address, reinterpret_cast<uintptr_t>(pvops_xen_pv_event_entry));
  EXPECT_EQ(callbacks_[1].type, CALLBACKTYPE_failsafe);
  EXPECT_EQ(callbacks_[1].address, reinterpret_cast<uintptr_t>(pvops_xen_pv_failsafe_entry));
}

TEST_F(XenPvKernelOpsTest, LoadIdtRefusesWhatIsNoIdt) {
  EXPECT_EQ(pvops_load_idt(nullptr, sizeof(idt_) - 1), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_load_idt(idt_, 32 * 16 - 2), PVOPS_ERR_INVALID) << "shorter than 32 gates";
  idt_[6] = MakeGate(kHandlers, 0, 0x5);  // a task gate
  EXPECT_EQ(pvops_load_idt(idt_, sizeof(idt_) - 1), PVOPS_ERR_INVALID);
  idt_[6] = MakeGate(kHandlers);
  idt_[13] = Gate{0, 0};
  EXPECT_EQ(pvops_load_idt(idt_, sizeof(idt_) - 1), PVOPS_ERR_INVALID)
      << "the failsafe callback goes on to the #GP handler";
  EXPECT_TRUE(trap_tables_.empty());
}

TEST_F(XenPvKernelOpsTest, TheGdtAndTssStayXensAndCr2ComesFromVcpuInfo) {
  alignas(16) static uint64_t gdt[3] = {0, 0x00af9a000000ffff, 0x00cf92000000ffff};
  EXPECT_EQ(pvops_load_gdt(gdt, sizeof(gdt) - 1, 0x08, 0x10), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_load_tr(0x18), PVOPS_ERR_UNSUPPORTED);
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(sim_.exits(sim::Exit::kLoadTable), 0u);
  Vcpu(0).arch.cr2 = 0x7fff'1234'5000;
  sim_.SetCr2(0xbad);
  EXPECT_EQ(pvops_read_cr2(), 0x7fff'1234'5000u);
}

TEST_F(XenPvKernelOpsTest, DescriptorsGoThroughUpdateDescriptorByMachineAddress) {
  uint64_t* gdt = reinterpret_cast<uint64_t*>(Page(kFirstFreePfn));
  EXPECT_EQ(pvops_write_gdt_entry(gdt, 5, 0x00cff3000000ffff), PVOPS_OK);
  const uint64_t tls[PVOPS_TLS_ENTRIES] = {0x11, 0x22, 0x33};
  EXPECT_EQ(pvops_load_tls(gdt, 6, tls), PVOPS_OK);
  const std::vector<XenCall> calls = CallsTo(__HYPERVISOR_update_descriptor);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].args[0], MfnOf(kFirstFreePfn) * 4096 + 5 * 8) << "the entry's machine address";
  EXPECT_EQ(calls[0].args[1], 0x00cff3000000ffffu);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(calls[1 + i].args[0], MfnOf(kFirstFreePfn) * 4096 + (6 + i) * 8);
    EXPECT_EQ(calls[1 + i].args[1], tls[i]);
  }
  // Xen refuses what it will not have in a GDT (a TSS): its answer comes back.
  answer_ = [](const XenCall& c) {
    return c.nr == __HYPERVISOR_update_descriptor ? -XEN_EINVAL : kFallThrough;
  };
  EXPECT_EQ(pvops_write_gdt_entry(gdt, 3, 0x0000890000000067), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_load_tls(gdt, 6, tls), PVOPS_ERR_INVALID);
  EXPECT_EQ(CallsTo(__HYPERVISOR_update_descriptor).size(), 6u) << "load_tls stops at a refusal";
}

TEST_F(XenPvKernelOpsTest, StackControlRegistersAndTprAreXens) {
  alignas(8) unsigned char tss[104] = {};
  EXPECT_EQ(pvops_set_kernel_stack(tss, 0xffff'8000'0000'9000), PVOPS_OK);
  const std::vector<XenCall> switches = CallsTo(__HYPERVISOR_stack_switch);
  ASSERT_EQ(switches.size(), 1u);
  EXPECT_EQ(switches[0].args[0], uint64_t{FLAT_KERNEL_SS});
  EXPECT_EQ(switches[0].args[1], 0xffff'8000'0000'9000u);
  EXPECT_EQ(tss[4], 0) << "no TSS of the kernel's on a PV vCPU";

  EXPECT_EQ(pvops_write_cr0(0x8005'003b), PVOPS_OK);  // TS set
  EXPECT_EQ(pvops_write_cr0(0x8005'0033), PVOPS_OK);
  const std::vector<XenCall> ts = CallsTo(__HYPERVISOR_fpu_taskswitch);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].args[0], 1u);
  EXPECT_EQ(ts[1].args[0], 0u);
  EXPECT_EQ(sim_.exits(sim::Exit::kWriteCr0), 0u);

  EXPECT_EQ(pvops_write_cr4(0x3506f0 | (1u << 7) | (1u << 8) | (1u << 17)), PVOPS_OK);
  EXPECT_EQ(sim_.cr4(), 0x3506f0u & ~((1u << 7) | (1u << 8) | (1u << 17)))
      << "PGE, PCE and PCIDE are Xen's";

  EXPECT_EQ(pvops_write_tpr(3), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_read_tpr(), 0u);
  EXPECT_EQ(sim_.exits(sim::Exit::kCr8), 0u);
}

}  // namespace
}  // namespace pvops::test
