// SPDX-License-Identifier: MIT
// The LAPIC ops: per-CPU set-up, EOI, IPIs (xAPIC MMIO and x2APIC MSRs), the handler
// registry, and INIT-SIPI-SIPI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <cstring>

#include "backends/native/native_backend.h"
#include "bare_metal_machine.h"
#include "core/patch.h"

namespace pvops::test {
namespace {

using sim::Exit;

constexpr uintptr_t kIcrLowOffset = 0x300;
constexpr uintptr_t kIcrHighOffset = 0x310;

class LapicTest : public BareMetalMachineTest {
 protected:
  uintptr_t PageOffset(uintptr_t address) const {
    return address - reinterpret_cast<uintptr_t>(lapic_.page());
  }
};

TEST_F(LapicTest, CpuInitRecordsTheApicIdAndEnablesTheXapic) {
  lapic_.SetApicId(0, 0x21);
  Boot();
  EXPECT_EQ(core::Cpu(0).apic_id, 0x21u);
  EXPECT_EQ(core::Cpu(0).online, 1u);
  EXPECT_EQ(lapic_.spurious(0), 0x100u | core::kVectorSpurious);
  EXPECT_EQ(lapic_.tpr(0), 0u);
  EXPECT_GT(sim_.exits(Exit::kMmioWrite), 0u);
  for (const sim::MsrAccess& a : sim_.msr_log()) EXPECT_LT(a.msr, 0x800u);  // no x2APIC MSRs
}

TEST_F(LapicTest, CpuInitUsesMsrsInX2apicMode) {
  lapic_.SetX2apic(true);
  lapic_.SetApicId(0, 0x1234);  // beyond what xAPIC can name
  Boot();
  EXPECT_EQ(core::Cpu(0).apic_id, 0x1234u);
  EXPECT_EQ(lapic_.spurious(0), 0x1ffu);
  EXPECT_EQ(sim_.exits(Exit::kMmioRead) + sim_.exits(Exit::kMmioWrite), 0u);
  EXPECT_FALSE(sim_.MsrWrites(0x80f).empty());  // SVR
  EXPECT_FALSE(sim_.MsrWrites(0x808).empty());  // TPR
}

TEST_F(LapicTest, AKernelThatOwnsTheApicKeepsItsTprAndSpuriousVector) {
  lapic_.SetApicId(0, 0x21);
  lapic_.SetSpurious(0, 0x1ef);  // the kernel's own spurious vector
  env_ = sim::MakeEnv();
  env_.flags = PVOPS_ENV_KERNEL_OWNS_APIC;
  ASSERT_EQ(pvops_init(&env_), PVOPS_OK);
  EXPECT_EQ(core::Cpu(0).apic_id, 0x21u) << "the ID is still read";
  EXPECT_EQ(lapic_.spurious(0), 0x1efu);
  EXPECT_EQ(sim_.exits(Exit::kMmioWrite), 0u);
}

TEST_F(LapicTest, CpuInitKeepsTheOtherSpuriousRegisterBits) {
  Boot();
  lapic_.SetSpurious(2, 0x2ff);  // focus checking disabled (bit 9), software-disabled
  ASSERT_EQ(OnlineCpu(2), PVOPS_OK);
  EXPECT_EQ(lapic_.spurious(2), 0x3ffu);
}

TEST_F(LapicTest, CpuInitWithoutAnApicIsUnsupported) {
  env_ = sim::MakeEnv();
  sim_.HandleMsrs(
      0x1b, 0x1b, [](uint32_t) -> std::optional<uint64_t> { return std::nullopt; },
      [](uint32_t, uint64_t) { return false; });
  // The table is installed all the same; the boot CPU's failed set-up is a note, and
  // bringing the CPU online says why.
  EXPECT_EQ(pvops_init(&env_), PVOPS_OK);
  EXPECT_STREQ(pvops_get_info()->notes, "boot CPU set-up: unsupported");
  EXPECT_EQ(pvops_cpu_online(0), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(pvops_get_info()->backend, uint32_t{PVOPS_BACKEND_NATIVE});  // a table all the same
}

TEST_F(LapicTest, CpuInitWithTheApicGloballyDisabledIsUnsupported) {
  sim::SimLapic::Options options;
  options.globally_enabled = false;
  sim::SimLapic disabled(sim_, options);  // its MSR handler shadows the default one
  env_ = sim::MakeEnv();
  // The table is installed all the same; the boot CPU's failed set-up is a note, and
  // bringing the CPU online says why.
  EXPECT_EQ(pvops_init(&env_), PVOPS_OK);
  EXPECT_STREQ(pvops_get_info()->notes, "boot CPU set-up: unsupported");
  EXPECT_EQ(pvops_cpu_online(0), PVOPS_ERR_UNSUPPORTED);
}

TEST_F(LapicTest, CpuInitWithAnUnmappedApicPageIsUnsupported) {
  sim::SimLapic::Options options;
  options.base = 0xfed00000;
  sim::SimLapic elsewhere(sim_, options);
  env_ = sim::MakeEnv();
  env_.phys_to_virt = [](uint64_t) -> void* { return nullptr; };
  // The table is installed all the same; the boot CPU's failed set-up is a note, and
  // bringing the CPU online says why.
  EXPECT_EQ(pvops_init(&env_), PVOPS_OK);
  EXPECT_STREQ(pvops_get_info()->notes, "boot CPU set-up: unsupported");
  EXPECT_EQ(pvops_cpu_online(0), PVOPS_ERR_UNSUPPORTED);
}

TEST_F(LapicTest, EoiWritesZeroToTheXapicEoiRegister) {
  Boot();
  sim_.ClearLogs();
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
  ASSERT_EQ(sim_.mmio_log().size(), 1u);
  EXPECT_EQ(PageOffset(sim_.mmio_log()[0].address), 0xb0u);
  EXPECT_EQ(sim_.mmio_log()[0].value, 0u);
}

TEST_F(LapicTest, EoiWritesTheX2apicEoiMsr) {
  lapic_.SetX2apic(true);
  Boot();
  sim_.ClearLogs();
  sim_.ResetExits();
  pvops_eoi();
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
  EXPECT_THAT(sim_.MsrWrites(0x80b), ::testing::ElementsAre(0u));
  EXPECT_EQ(sim_.total_exits(), 1u);  // the mode is cached: no IA32_APIC_BASE read per EOI
}

// An EOI call site rewritten for the native op: what the instruction bytes say must be what
// Eoi() does (the SDM's encodings, written out).
core::SiteCode PatchedEoiSite() {
  const core::Site site{PVOPS_SLOT_OF(irq.eoi), PVOPS_SITE_CALL, 0xffffffff80100000ull, 11,
                        reinterpret_cast<uintptr_t>(core::kNativeOps.irq.eoi)};
  core::SiteCode code{};
  EXPECT_TRUE(native::PatchSite(site, &code));
  EXPECT_EQ(code.form, core::SiteCode::Form::kInline);
  return code;
}

TEST_F(LapicTest, AnXapicEoiSiteBecomesOneStoreToTheEoiRegister) {
  Boot();
  const core::SiteCode code = PatchedEoiSite();
  ASSERT_EQ(code.length, 11u);
  EXPECT_EQ(code.bytes[0], 0x31);  // xor %eax, %eax
  EXPECT_EQ(code.bytes[1], 0xc0);
  EXPECT_EQ(code.bytes[2], 0xa3);  // movabs %eax, moffs64
  uint64_t address;
  std::memcpy(&address, code.bytes + 3, sizeof(address));
  EXPECT_EQ(PageOffset(address), 0xb0u);
}

TEST_F(LapicTest, AnX2apicEoiSiteBecomesTheEoiMsrWrite) {
  lapic_.SetX2apic(true);
  Boot();
  const core::SiteCode code = PatchedEoiSite();
  // xor %eax, %eax; xor %edx, %edx; mov $0x80b, %ecx; wrmsr
  const uint8_t expected[] = {0x31, 0xc0, 0x31, 0xd2, 0xb9, 0x0b, 0x08, 0x00, 0x00, 0x0f, 0x30};
  ASSERT_EQ(code.length, sizeof(expected));
  EXPECT_EQ(std::memcmp(code.bytes, expected, sizeof(expected)), 0);
}

TEST_F(LapicTest, SendIpiTargetsEachCpusApicIdWithAFixedIpi) {
  for (uint32_t cpu = 0; cpu < 4; ++cpu) lapic_.SetApicId(cpu, 0x10 + cpu);
  Boot();
  OnlineCpus(4);
  sim_.ClearLogs();
  CpuSet set;
  set.Add(1);
  set.Add(3);
  ASSERT_EQ(SendIpi(set, 0x40), Status(PVOPS_OK));
  ASSERT_EQ(lapic_.sent().size(), 2u);
  EXPECT_EQ(lapic_.sent()[0].destination, 0x11u);
  EXPECT_EQ(lapic_.sent()[1].destination, 0x13u);
  for (const sim::SentIpi& ipi : lapic_.sent()) {
    EXPECT_EQ(ipi.vector(), 0x40u);
    EXPECT_EQ(ipi.delivery_mode(), 0u);  // fixed
    EXPECT_EQ(ipi.from_cpu, 0u);
  }
  // ICR high (destination) is written before ICR low, whose write sends.
  std::vector<uintptr_t> writes;
  for (const sim::MmioAccess& a : sim_.mmio_log()) {
    if (a.write) writes.push_back(PageOffset(a.address));
  }
  EXPECT_THAT(writes,
              ::testing::ElementsAre(kIcrHighOffset, kIcrLowOffset, kIcrHighOffset, kIcrLowOffset));
  EXPECT_EQ(core::CounterValue(core::Counter::kIpisSent), 2u);
}

TEST_F(LapicTest, SendIpiInX2apicModeIsOneMsrWrite) {
  lapic_.SetX2apic(true);
  lapic_.SetApicId(1, 0x300);
  Boot();
  OnlineCpus(2);
  ASSERT_EQ(SendIpi(CpuSet::Only(1), 0xf0), Status(PVOPS_OK));
  EXPECT_THAT(sim_.MsrWrites(0x830), ::testing::ElementsAre(uint64_t{0x300} << 32 | 0xf0));
}

TEST_F(LapicTest, SendIpiToACpuNotOnlineSendsNothing) {
  Boot();
  OnlineCpus(2);
  CpuSet set;
  set.Add(1);
  set.Add(5);
  EXPECT_EQ(SendIpi(set, 0x40), Status(PVOPS_ERR_INVALID));
  EXPECT_TRUE(lapic_.sent().empty());
}

TEST_F(LapicTest, SendIpiRefusesExceptionVectors) {
  Boot();
  EXPECT_EQ(SendIpi(CpuSet::Only(0), 13), Status(PVOPS_ERR_INVALID));
  EXPECT_EQ(pvops_send_ipi(nullptr, 0x40), PVOPS_ERR_INVALID);
  EXPECT_TRUE(lapic_.sent().empty());
}

TEST_F(LapicTest, SendIpiWaitsForTheIcrToDrainWithInterruptsOff) {
  Boot();
  OnlineCpus(2);
  lapic_.SetIcrPendingReads(3);
  sim_.SetInterruptsEnabled(true);
  bool interrupts_on_during_send = true;
  lapic_.OnIpi([&](const sim::SentIpi&) { interrupts_on_during_send = sim_.interrupts_enabled(); });
  ASSERT_EQ(SendIpi(CpuSet::Only(1), 0x40), Status(PVOPS_OK));
  sim_.ClearLogs();
  ASSERT_EQ(SendIpi(CpuSet::Only(1), 0x41), Status(PVOPS_OK));
  EXPECT_FALSE(interrupts_on_during_send);
  EXPECT_TRUE(sim_.interrupts_enabled());  // restored
  int icr_reads = 0;
  for (const sim::MmioAccess& a : sim_.mmio_log()) {
    icr_reads += !a.write && PageOffset(a.address) == kIcrLowOffset;
  }
  EXPECT_EQ(icr_reads, 4);  // three pending, one idle
  EXPECT_EQ(lapic_.sent().size(), 2u);
}

TEST_F(LapicTest, SendIpiGivesUpOnAnIcrThatNeverDrains) {
  Boot();
  OnlineCpus(2);
  lapic_.SetIcrPendingReads(0xffffffff);
  ASSERT_EQ(SendIpi(CpuSet::Only(1), 0x40), Status(PVOPS_OK));  // the first finds it idle
  EXPECT_EQ(SendIpi(CpuSet::Only(1), 0x41), Status(PVOPS_ERR_TIMEOUT));
  EXPECT_EQ(lapic_.sent().size(), 1u);
}

TEST_F(LapicTest, RegisteredHandlerRunsAndTheInterruptIsEnded) {
  Boot();
  static int calls;
  static void* seen_ctx;
  calls = 0;
  int marker;
  ASSERT_EQ(RegisterHandler(
                0x50, [](uint8_t vector, void* ctx) { calls += vector == 0x50, seen_ctx = ctx; },
                &marker),
            Status(PVOPS_OK));
  pvops_handle_interrupt(0x50);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen_ctx, &marker);
  EXPECT_EQ(lapic_.eoi_count(0), 1u);
  EXPECT_EQ(RegisterHandler(0x50, nullptr), Status(PVOPS_OK));
  pvops_handle_interrupt(0x50);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(RegisterHandler(8, [](uint8_t, void*) {}), Status(PVOPS_ERR_INVALID));
}

TEST_F(LapicTest, StartCpuSendsInitThenTwoStartupIpisWithTheSdmDelays) {
  Boot();
  sim_.SetTicksPerInstruction(2000);  // 1 us per instruction: the delays take few steps
  const pvops_cpu_start start{0x9000, nullptr, 0, 0};
  ASSERT_EQ(StartCpu(1, 7, start), Status(PVOPS_OK));
  ASSERT_EQ(lapic_.sent().size(), 3u);
  const sim::SentIpi& init = lapic_.sent()[0];
  const sim::SentIpi& sipi1 = lapic_.sent()[1];
  const sim::SentIpi& sipi2 = lapic_.sent()[2];
  EXPECT_EQ(init.icr_low, 0x4500u);   // INIT, level assert
  EXPECT_EQ(sipi1.icr_low, 0x4609u);  // STARTUP, vector = 0x9000 >> 12
  EXPECT_EQ(sipi2.icr_low, 0x4609u);
  for (const sim::SentIpi& ipi : lapic_.sent()) EXPECT_EQ(ipi.destination, 7u);
  const uint64_t ticks_per_us = kTscKhz / 1000;
  EXPECT_GE(sipi1.tsc - init.tsc, 10'000 * ticks_per_us);
  EXPECT_LT(sipi1.tsc - init.tsc, 11'000 * ticks_per_us);
  EXPECT_GE(sipi2.tsc - sipi1.tsc, 200 * ticks_per_us);
  EXPECT_LT(sipi2.tsc - sipi1.tsc, 1'000 * ticks_per_us);
}

TEST_F(LapicTest, StartCpuRefusesPagesASipiCannotName) {
  Boot();
  for (const uint64_t page : {0x9001ull, 0x100000ull, 0xa0000ull, 0xbf000ull}) {
    const pvops_cpu_start start{page, nullptr, 0, 0};
    EXPECT_EQ(StartCpu(1, 1, start), Status(PVOPS_ERR_INVALID)) << std::hex << page;
  }
  EXPECT_EQ(pvops_start_cpu(1, 1, nullptr), PVOPS_ERR_INVALID);
  const pvops_cpu_start start{0x8000, nullptr, 0, 0};
  EXPECT_EQ(StartCpu(1, 0xff, start), Status(PVOPS_ERR_INVALID));  // xAPIC broadcast ID
  EXPECT_TRUE(lapic_.sent().empty());
}

}  // namespace
}  // namespace pvops::test
