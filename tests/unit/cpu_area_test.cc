// SPDX-License-Identifier: MIT
// The per-CPU areas the kernel hands over (pvops_set_cpu_area): what is refused, what a CPU
// without one gets from pvops_cpu_online, and that the core's per-CPU state lives there.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "bare_metal_machine.h"
#include "core/cpu_area.h"

namespace pvops::test {
namespace {

class CpuAreaTest : public BareMetalMachineTest {};

TEST_F(CpuAreaTest, AnAreaIsRefusedWhenMisalignedOutOfRangeOrForTheBootCpu) {
  Boot();
  auto* area = static_cast<unsigned char*>(NewCpuArea());
  EXPECT_EQ(pvops_set_cpu_area(1, area + 64), PVOPS_ERR_INVALID) << "not page-aligned";
  EXPECT_EQ(pvops_set_cpu_area(1, nullptr), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_set_cpu_area(0, area), PVOPS_ERR_INVALID) << "the boot CPU's is the library's";
  EXPECT_EQ(pvops_set_cpu_area(PVOPS_MAX_CPUS, area), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_set_cpu_area(0xffffffff, area), PVOPS_ERR_INVALID);
  // None of them took: CPU 1 still has none.
  EXPECT_EQ(core::AreaOf(1), nullptr);
  EXPECT_EQ(pvops_set_cpu_area(PVOPS_MAX_CPUS - 1, area), PVOPS_OK) << "the last CPU's number";
}

TEST_F(CpuAreaTest, AnAreaThatIsNotPageAlignedPhysicallyIsRefused) {
  Boot();
  void* area = NewCpuArea();
  // The kernel maps the page at a physical address 2 KiB into a frame.
  sim_.MapPhys(0x12345800, area, PVOPS_CPU_AREA_SIZE);
  EXPECT_EQ(pvops_set_cpu_area(1, area), PVOPS_ERR_INVALID);
  void* aligned = NewCpuArea();
  sim_.MapPhys(0x12346000, aligned, PVOPS_CPU_AREA_SIZE);
  EXPECT_EQ(pvops_set_cpu_area(1, aligned), PVOPS_OK);
}

TEST_F(CpuAreaTest, TheAreaIsZeroedAndTheCoresStateLivesInIt) {
  lapic_.SetApicId(3, 0x33);
  Boot();
  auto* area = static_cast<unsigned char*>(NewCpuArea());
  std::memset(area, 0xa5, PVOPS_CPU_AREA_SIZE);  // what the kernel's memory held before
  ASSERT_EQ(pvops_set_cpu_area(3, area), PVOPS_OK);
  EXPECT_EQ(static_cast<void*>(core::AreaOf(3)), static_cast<void*>(area));
  size_t stale = 0;
  for (size_t i = 0; i < sizeof(core::CpuArea); ++i) stale += area[i] == 0xa5;
  EXPECT_EQ(stale, 0u);
  sim_.RunOnCpu(3, [] { ASSERT_EQ(pvops_cpu_online(3), PVOPS_OK); });
  // CPU 3's APIC ID, as its cpu_init read it, is in its area at the core's part.
  const auto* core_part =
      reinterpret_cast<const core::PerCpu*>(area + offsetof(core::CpuArea, core));
  EXPECT_EQ(core_part->apic_id, 0x33u);
  EXPECT_EQ(core_part->online, 1u);
  EXPECT_EQ(core::OnlineCpuCount(), 2u);
}

TEST_F(CpuAreaTest, AnOnlineCpuKeepsItsAreaButTheSameOneAgainIsFine) {
  Boot();
  void* first = NewCpuArea();
  void* second = NewCpuArea();
  // Before the CPU is online a new area replaces the old one.
  ASSERT_EQ(pvops_set_cpu_area(2, first), PVOPS_OK);
  ASSERT_EQ(pvops_set_cpu_area(2, second), PVOPS_OK);
  EXPECT_EQ(static_cast<void*>(core::AreaOf(2)), second);
  sim_.RunOnCpu(2, [] { ASSERT_EQ(pvops_cpu_online(2), PVOPS_OK); });
  EXPECT_EQ(pvops_set_cpu_area(2, first), PVOPS_ERR_INVALID);
  EXPECT_EQ(static_cast<void*>(core::AreaOf(2)), second);
  // A kernel that hands the area over each time the CPU comes up (CPU hotplug): no change.
  static_cast<core::CpuArea*>(second)->core.oneshot_vector = 0x77;
  EXPECT_EQ(pvops_set_cpu_area(2, second), PVOPS_OK);
  EXPECT_EQ(static_cast<core::CpuArea*>(second)->core.oneshot_vector, 0x77) << "not zeroed";
}

TEST_F(CpuAreaTest, ACpuWithoutAnAreaFailsToComeOnlineAndSaysWhy) {
  Boot();
  pvops_status st = PVOPS_OK;
  sim_.RunOnCpu(1, [&] { st = pvops_cpu_online(1); });
  EXPECT_EQ(st, PVOPS_ERR_NO_CPU_AREA);
  EXPECT_STREQ(pvops_status_name(st), "no-cpu-area");
  EXPECT_EQ(core::Cpu(1).online, 0u);
  EXPECT_EQ(core::OnlineCpuCount(), 1u);
  // Nothing is sent to a CPU the library never saw online.
  EXPECT_EQ(pvops_send_ipi(CpuSet::Only(1).raw(), 0x40), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_cpu_online(PVOPS_MAX_CPUS), PVOPS_ERR_INVALID);
}

TEST_F(CpuAreaTest, PvopsInitForgetsTheAreasOfEarlierSecondaries) {
  Boot();
  OnlineCpus(3);
  EXPECT_EQ(core::OnlineCpuCount(), 3u);
  Boot();
  EXPECT_EQ(core::AreaOf(1), nullptr);
  EXPECT_EQ(core::AreaOf(2), nullptr);
  EXPECT_EQ(core::OnlineCpuCount(), 1u) << "only the boot CPU";
}

TEST_F(CpuAreaTest, AnEnvStatingAreasTooSmallIsRefusedAndSaysWhy) {
  sim::LoadCpuModel(sim_, model_);
  pvops_env env = sim::MakeEnv();
  env.cpu_area_size = 64;  // less than any area the library takes
  EXPECT_EQ(pvops_init(&env), PVOPS_ERR_INVALID);
  EXPECT_EQ(std::string(pvops_get_info()->reason),
            "env.cpu_area_size 64, but the library's per-CPU area takes " +
                std::to_string(sizeof(core::CpuArea)));
  env.cpu_area_size = PVOPS_CPU_AREA_SIZE;
  EXPECT_EQ(pvops_init(&env), PVOPS_OK);
}

}  // namespace
}  // namespace pvops::test
