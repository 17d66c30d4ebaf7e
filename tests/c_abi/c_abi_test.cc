// SPDX-License-Identifier: MIT
// Drives the C translation unit (c_abi.c) on the simulated native machine and checks what it
// saw, and that C and C++ agree on every struct's layout.
#include <gtest/gtest.h>

#include <cstddef>

#include "c_abi_probe.h"
#include "sim_isa.h"
#include "sim_lapic.h"
#include "sim_machine.h"
#include "sim_test.h"

namespace pvops {
namespace {

class CAbiTest : public sim::SimTest {
 protected:
  CAbiTest() {
    sim::CpuModel model;
    model.max_basic_leaf = 0x15;
    model.tsc_ratio_denominator = 2;
    model.tsc_ratio_numerator = 100;
    model.crystal_hz = 24'000'000;  // 1.2 GHz TSC
    sim::LoadCpuModel(sim_, model);
    rtc_.SetBcdTime(2025, 3, 1, 8, 30, 0);
  }
  sim::SimLapic lapic_{sim_};
  sim::SimUart uart_{sim_};
  sim::SimCmosRtc rtc_{sim_};
};

TEST_F(CAbiTest, CAndCppSeeTheSameLayout) {
  c_abi_layout c{};
  c_abi_measure_layout(&c);
  EXPECT_EQ(c.size_ops, sizeof(pvops_ops));
  EXPECT_EQ(c.size_env, sizeof(pvops_env));
  EXPECT_EQ(c.size_info, sizeof(pvops_info));
  EXPECT_EQ(c.size_candidate, sizeof(pvops_candidate));
  EXPECT_EQ(c.size_cpuset, sizeof(pvops_cpuset));
  EXPECT_EQ(c.size_cpu_start, sizeof(pvops_cpu_start));
  EXPECT_EQ(c.size_wall_clock, sizeof(pvops_wall_clock));
  EXPECT_EQ(c.size_counter, sizeof(pvops_counter));
  EXPECT_EQ(c.off_ops_irq, offsetof(pvops_ops, irq));
  EXPECT_EQ(c.off_ops_mmu, offsetof(pvops_ops, mmu));
  EXPECT_EQ(c.off_ops_time, offsetof(pvops_ops, time));
  EXPECT_EQ(c.off_ops_lock, offsetof(pvops_ops, lock));
  EXPECT_EQ(c.off_ops_hypercall, offsetof(pvops_ops, hypercall));
  EXPECT_EQ(c.off_ops_platform, offsetof(pvops_ops, platform));
  EXPECT_EQ(c.off_ops_kernel, offsetof(pvops_ops, kernel));
  EXPECT_EQ(c.off_kernel_load_gdt, offsetof(pvops_kernel_ops, load_gdt));
  EXPECT_EQ(c.off_env_cmdline, offsetof(pvops_env, cmdline));
  EXPECT_EQ(c.off_env_phys_to_virt, offsetof(pvops_env, phys_to_virt));
  EXPECT_EQ(c.off_env_flags, offsetof(pvops_env, flags));
  EXPECT_EQ(c.off_env_map_exec, offsetof(pvops_env, map_exec));
  EXPECT_EQ(c.off_env_max_cpus, offsetof(pvops_env, max_cpus));
  EXPECT_EQ(c.off_info_paravirt, offsetof(pvops_info, paravirt));
  EXPECT_EQ(c.off_mmu_flush_tlb_remote, offsetof(pvops_mmu_ops, flush_tlb_remote));
  EXPECT_EQ(c.off_info_reason, offsetof(pvops_info, reason));
  EXPECT_EQ(c.off_info_candidates, offsetof(pvops_info, candidates));
  EXPECT_EQ(c.off_candidate_signature, offsetof(pvops_candidate, signature));
}

TEST_F(CAbiTest, ACProgramInitializesAndCallsThroughTheTable) {
  const pvops_env env = sim::MakeEnv("console=ttyS0");
  c_abi_observed seen{};
  sim_.SetCr2(0xdead'b000);
  c_abi_exercise(&env, &seen);

  EXPECT_EQ(seen.init_status, PVOPS_OK);
  EXPECT_EQ(seen.backend, uint32_t{PVOPS_BACKEND_NATIVE});
  EXPECT_STREQ(seen.backend_name, "native");
  EXPECT_EQ(seen.leaf0.eax, 0x15u);
  EXPECT_EQ(seen.leaf0.ebx, 0x756e6547u);  // "Genu"
  // 1.2 GHz TSC: consecutive reads are a few simulated instructions (100 ticks each) apart.
  EXPECT_GT(seen.clock_second, seen.clock_first);
  EXPECT_LT(seen.clock_second - seen.clock_first, 1000u);
  // Only IF is meaningful in the flags (pvops.h).
  EXPECT_EQ(seen.flags_before & (1u << 9), 1u << 9);
  EXPECT_EQ(seen.flags_saved & (1u << 9), 1u << 9);
  EXPECT_EQ(seen.flags_inside & (1u << 9), 0u);
  EXPECT_EQ(seen.flags_after & (1u << 9), 1u << 9);
  EXPECT_EQ(seen.absent_msr_status, PVOPS_ERR_FAULT);
  EXPECT_EQ(seen.absent_msr_value, 0u);
  EXPECT_EQ(seen.wall_status, PVOPS_OK);
  EXPECT_EQ(seen.user_clock_status, PVOPS_ERR_UNSUPPORTED);  // native: no page for user space
  EXPECT_EQ(seen.user_clock.kind, uint32_t{PVOPS_USER_CLOCK_NONE});
  EXPECT_EQ(seen.wall.sec, 1740817800u);  // 2025-03-01T08:30:00Z
  EXPECT_EQ(uart_.output(), "hello from C\n");
  EXPECT_GT(seen.counters, 0u);
  EXPECT_EQ(seen.cr2, 0xdead'b000u);
}

// Compiled next to macros named like every op (c_abi_kernel_macros.c), a wrapper still calls
// the table: CPUID 0x15 here says 24 MHz * 100 / 2.
TEST_F(CAbiTest, WrappersCallTheTableBesideKernelMacrosOfTheOpsNames) {
  const pvops_env env = sim::MakeEnv();
  ASSERT_EQ(pvops_init(&env), PVOPS_OK);
  EXPECT_EQ(c_abi_tsc_khz_beside_kernel_macros(), 1'200'000u);
  sim_.SetCr2(0x1000);
  EXPECT_EQ(c_abi_cr2_beside_kernel_macros(), 0x1000u);
}

}  // namespace
}  // namespace pvops
