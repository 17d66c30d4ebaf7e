// SPDX-License-Identifier: MIT
// The simulated CPU itself: later tests trust what it reports, so its own behaviour is pinned.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/x86/arch.h"
#include "sim_cpu.h"
#include "sim_machine.h"
#include "sim_test.h"

namespace pvops::sim {
namespace {

using ::testing::ElementsAre;

class SimCpuTest : public SimTest {};

TEST_F(SimCpuTest, CpuidAnswersExactLeavesAndSubleaves) {
  sim_.SetCpuid(7, {1, 2, 3, 4});
  sim_.SetCpuid(7, 1, {5, 6, 7, 8});
  const pvops_cpuid_regs any = arch::cpuid(7, 0);
  const pvops_cpuid_regs sub1 = arch::cpuid(7, 1);
  EXPECT_EQ(any.eax, 1u);
  EXPECT_EQ(any.edx, 4u);
  EXPECT_EQ(sub1.eax, 5u);
  EXPECT_EQ(sub1.edx, 8u);
  EXPECT_EQ(arch::cpuid(9, 0).eax, 0u);  // missing leaf, kZeros mode
  EXPECT_EQ(sim_.exits(Exit::kCpuid), 3u);
}

TEST_F(SimCpuTest, EchoModeRepeatsTheLastBasicLeafPastTheMaximum) {
  sim_.SetCpuid(0, {0xd, 0x756e6547, 0x6c65746e, 0x49656e69});
  sim_.SetCpuid(0xd, {0x207, 0x340, 0x988, 0});
  sim_.SetCpuid(0x80000000, {0x80000008, 0, 0, 0});
  sim_.SetCpuidMiss(SimCpu::CpuidMiss::kEchoLastBasicLeaf);
  EXPECT_EQ(arch::cpuid(0x40000000, 0).eax, 0x207u);
  EXPECT_EQ(arch::cpuid(0x40000100, 0).ebx, 0x340u);
  EXPECT_EQ(arch::cpuid(0x80000000, 0).eax, 0x80000008u);  // present leaves still answer
  EXPECT_EQ(arch::cpuid(0xc, 0).eax, 0u);                  // below the max: zeros
}

TEST_F(SimCpuTest, HypervisorLeafCarriesTheSignatureInEbxEcxEdx) {
  sim_.SetHypervisorLeaf(0x40000100, 0x40000101, "KVMKVMKVM\0\0\0");
  const pvops_cpuid_regs r = arch::cpuid(0x40000100, 0);
  EXPECT_EQ(r.eax, 0x40000101u);
  EXPECT_EQ(r.ebx, 0x4b4d564bu);  // "KVMK"
  EXPECT_EQ(r.ecx, 0x564b4d56u);  // "VMKV"
  EXPECT_EQ(r.edx, 0x4du);        // "M\0\0\0"
}

TEST_F(SimCpuTest, MsrsAreStoredAndAbsentOnesFault) {
  sim_.SetMsr(0x10, 5);
  EXPECT_EQ(arch::rdmsr(0x10), 5u);
  arch::wrmsr(0x10, 9);
  EXPECT_EQ(sim_.Msr(0x10), 9u);
  uint64_t value = 77;
  EXPECT_FALSE(arch::rdmsr_safe(0x12345, &value));
  EXPECT_EQ(value, 0u);
  EXPECT_FALSE(arch::wrmsr_safe(0x12345, 1));
  EXPECT_EQ(sim_.exits(Exit::kMsrFault), 2u);
  ASSERT_EQ(sim_.msr_log().size(), 4u);
  EXPECT_TRUE(sim_.msr_log()[2].faulted);
  EXPECT_THAT(sim_.MsrWrites(0x10), ElementsAre(9u));
}

TEST_F(SimCpuTest, MsrDevicesComeBeforeStorage) {
  sim_.SetMsr(0x20, 1);
  uint64_t written = 0;
  sim_.HandleMsrs(
      0x20, 0x21, [](uint32_t msr) -> std::optional<uint64_t> { return msr * 2; },
      [&](uint32_t, uint64_t v) {
        written = v;
        return v != 0;  // refuses 0 with #GP
      });
  EXPECT_EQ(arch::rdmsr(0x21), 0x42u);
  EXPECT_TRUE(arch::wrmsr_safe(0x20, 3));
  EXPECT_EQ(written, 3u);
  EXPECT_FALSE(arch::wrmsr_safe(0x20, 0));
  EXPECT_EQ(sim_.Msr(0x20), 1u);  // storage untouched
}

TEST_F(SimCpuTest, UnhandledPortsReadAllOnesPerWidth) {
  EXPECT_EQ(arch::inb(0x300), 0xffu);
  EXPECT_EQ(arch::inw(0x300), 0xffffu);
  EXPECT_EQ(arch::inl(0x300), 0xffffffffu);
  arch::outw(0x300, 0x1234);
  ASSERT_EQ(sim_.port_log().size(), 4u);
  EXPECT_EQ(sim_.port_log()[3].size, 2u);
  EXPECT_EQ(sim_.port_log()[3].value, 0x1234u);
  EXPECT_EQ(sim_.exits(Exit::kPortIn), 3u);
  EXPECT_EQ(sim_.exits(Exit::kPortOut), 1u);
}

TEST_F(SimCpuTest, PortHandlersSeeTheAccess) {
  std::vector<uint32_t> seen;
  sim_.HandlePorts(
      0x60, 0x64, [](uint16_t port, uint8_t) -> uint32_t { return port + 1; },
      [&](uint16_t port, uint8_t size, uint32_t v) {
        seen = {port, size, v};
      });
  EXPECT_EQ(arch::inb(0x64), 0x65u);
  arch::outl(0x60, 0xabcdef01);
  EXPECT_THAT(seen, ElementsAre(0x60u, 4u, 0xabcdef01u));
}

TEST_F(SimCpuTest, MmioRegionsGetOffsetsAndOtherMemoryIsPlain) {
  alignas(16) static uint32_t device[4];
  alignas(16) static uint32_t plain[4];
  uint64_t last_offset = 99;
  sim_.MapMmio(
      device, sizeof(device), [](uint64_t offset) -> uint32_t { return 0x100 + offset; },
      [&](uint64_t offset, uint32_t) { last_offset = offset; });
  EXPECT_EQ(arch::mmio_read32(&device[2]), 0x108u);
  arch::mmio_write32(&device[3], 1);
  EXPECT_EQ(last_offset, 12u);
  EXPECT_EQ(device[3], 0u);  // the handler took it
  arch::mmio_write32(&plain[1], 42);
  EXPECT_EQ(plain[1], 42u);
  EXPECT_EQ(arch::mmio_read32(&plain[1]), 42u);
  EXPECT_EQ(sim_.exits(Exit::kMmioRead), 2u);
  EXPECT_EQ(sim_.exits(Exit::kMmioWrite), 2u);
}

TEST_F(SimCpuTest, PhysicalMapTranslatesBothWays) {
  static char page[4096];
  sim_.MapPhys(0x200000, page, sizeof(page));
  EXPECT_EQ(sim_.PhysToVirt(0x200010), page + 0x10);
  EXPECT_EQ(sim_.PhysToVirt(0x201000), nullptr);
  EXPECT_EQ(sim_.VirtToPhys(page + 0x20), 0x200020u);
  const pvops_env env = MakeEnv("x");
  EXPECT_EQ(env.phys_to_virt(0x200000), page);
  EXPECT_EQ(env.virt_to_phys(page + 1), 0x200001u);
}

TEST_F(SimCpuTest, TscAdvancesEveryInstruction) {
  sim_.SetTicksPerInstruction(7);
  const uint64_t a = arch::rdtsc();
  (void)arch::inb(0x80);
  const uint64_t b = arch::rdtsc();
  EXPECT_EQ(b - a, 14u);
}

TEST_F(SimCpuTest, HypercallsGoToThePerInstructionHandler) {
  sim_.SetHypercallHandler(arch::HypercallInsn::kVmmcall,
                           [](arch::HypercallRegs& r) { r.rax = r.rbx + r.rcx; });
  arch::HypercallRegs regs{};
  regs.rax = 9;
  regs.rbx = 40;
  regs.rcx = 2;
  arch::hypercall(arch::HypercallInsn::kVmmcall, regs);
  EXPECT_EQ(regs.rax, 42u);
  ASSERT_EQ(sim_.hypercalls().size(), 1u);
  EXPECT_EQ(sim_.hypercalls()[0].in.rax, 9u);
  EXPECT_EQ(sim_.exits(Exit::kVmmcall), 1u);
  EXPECT_EQ(sim_.exits(Exit::kVmcall), 0u);
}

TEST_F(SimCpuTest, StubsAndBackdoorHaveTheirOwnHandlers) {
  static const char page[64] = {};
  const void* seen = nullptr;
  sim_.SetStubHandler([&](const void* stub, arch::HypercallRegs& r) {
    seen = stub;
    r.rax = 0;
  });
  arch::HypercallRegs regs{};
  arch::call_stub(page + 32, regs);
  EXPECT_EQ(seen, page + 32);
  arch::HypercallRegs bd{};
  arch::backdoor_in(bd);
  EXPECT_EQ(bd.rax & 0xffffffff, 0xffffffffu);  // nobody behind the port
  sim_.SetBackdoorHandler([](arch::HypercallRegs& r) { r.rbx = 0x564d5868; });
  arch::backdoor_in(bd);
  EXPECT_EQ(bd.rbx, 0x564d5868u);
}

TEST_F(SimCpuTest, InterruptFlagAndControlRegistersArePerCpu) {
  arch::sti();
  EXPECT_TRUE(sim_.interrupts_enabled());
  sim_.RunOnCpu(1, [&] {
    EXPECT_FALSE(sim_.interrupts_enabled());
    arch::write_cr3(0x5000);
    EXPECT_EQ(sim_.current_cpu(), 1u);
  });
  EXPECT_EQ(sim_.current_cpu(), 0u);
  EXPECT_EQ(arch::read_cr3(), 0u);
  ASSERT_EQ(sim_.cr3_writes().size(), 1u);
  EXPECT_EQ(sim_.cr3_writes()[0].cpu, 1u);
  EXPECT_EQ(arch::save_flags() & (1u << 9), 1u << 9);
  arch::restore_flags(0x2);
  EXPECT_FALSE(sim_.interrupts_enabled());
}

TEST_F(SimCpuTest, HaltWithInterruptsOnReturnsAndRunsTheHook) {
  int woken = 0;
  arch::sti();
  arch::hlt();
  sim_.OnHalt([&] { ++woken; });
  arch::cli();
  arch::hlt();  // with a hook, the hook decides
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(sim_.exits(Exit::kHlt), 2u);
}

TEST_F(SimCpuTest, PauseRunsTheHook) {
  int spins = 0;
  sim_.OnPause([&] { ++spins; });
  arch::pause();
  arch::pause();
  EXPECT_EQ(spins, 2);
}

using SimCpuDeathTest = SimCpuTest;

TEST_F(SimCpuDeathTest, HaltWithInterruptsOffEndsTheMachine) {
  EXPECT_EXIT(
      {
        arch::cli();
        arch::hlt();
      },
      ::testing::ExitedWithCode(kDeadHaltExitCode), "halted with interrupts off");
}

}  // namespace
}  // namespace pvops::sim
