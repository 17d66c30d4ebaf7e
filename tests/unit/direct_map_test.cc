// SPDX-License-Identifier: MIT
// pvops_build_direct_map on the native table: every level written as x86 paging reads it, the
// page-table frames (its own, the loader's) mapped read-only, the map linked into the running
// top-level table, and what it cannot build refused before anything is written.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "bare_metal_machine.h"
#include "core/runtime.h"

namespace pvops::test {
namespace {

constexpr uint64_t kMemoryPages = 16;
constexpr uint64_t kRootPfn = 1;
constexpr uint64_t kFirstTablePfn = 4;
constexpr uint64_t kDirectMapVa = 0xffff888000000000;  // top-level slot 273
constexpr uint32_t kSlot = 273;
constexpr pvops_pte kLink = 0x23;      // present, writable, accessed
constexpr pvops_pte kWritable = 0x63;  // present, writable, accessed, dirty
constexpr pvops_pte kReadOnly = 0x21;  // present, accessed

class DirectMapTest : public BareMetalMachineTest {
 protected:
  DirectMapTest() {
    memory_ = static_cast<uint8_t*>(aligned_alloc(4096, kMemoryPages * 4096));
    memset(memory_, 0, kMemoryPages * 4096);
    sim_.MapPhys(0, memory_, kMemoryPages * 4096);
    sim_.SetCr3(kRootPfn * 4096);
  }
  ~DirectMapTest() override {
    core::g_loader_mapping = core::LoaderMapping{};
    free(memory_);
  }

  pvops_pte* Table(uint64_t pfn) { return reinterpret_cast<pvops_pte*>(memory_ + pfn * 4096); }
  void* Tables() { return Table(kFirstTablePfn); }

  uint8_t* memory_;
};

TEST_F(DirectMapTest, BuildsEveryLevelAndLinksItIntoTheRunningTopLevelTable) {
  Boot();
  uint64_t mapped = 0;
  // 600 pages: two L1s (pfn 4, 5), the L2 (6), the L3 (7).
  ASSERT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 4 * 4096, 600, &mapped), PVOPS_OK);
  EXPECT_EQ(mapped, 600u);
  EXPECT_EQ(Table(kRootPfn)[kSlot], 7 * 4096 | kLink);
  EXPECT_EQ(Table(7)[0], 6 * 4096 | kLink);
  EXPECT_EQ(Table(7)[1], 0u);
  EXPECT_EQ(Table(6)[0], 4 * 4096 | kLink);
  EXPECT_EQ(Table(6)[1], 5 * 4096 | kLink);
  EXPECT_EQ(Table(6)[2], 0u);
  EXPECT_EQ(Table(4)[0], 0 | kWritable);
  EXPECT_EQ(Table(4)[3], 3 * 4096 | kWritable);
  for (uint64_t pfn = 4; pfn <= 7; ++pfn)
    EXPECT_EQ(Table(4)[pfn], pfn * 4096 | kReadOnly) << "its own table frame " << pfn;
  EXPECT_EQ(Table(4)[8], 8 * 4096 | kWritable);
  EXPECT_EQ(Table(5)[599 - 512], 599 * 4096 | kWritable);
  EXPECT_EQ(Table(5)[600 - 512], 0u) << "past the pages asked for";
}

TEST_F(DirectMapTest, TheLoadersTablesStayReadOnlyAndItsMemoryIsTheDefault) {
  Boot();
  core::g_loader_mapping = core::LoaderMapping{0, 0, kRootPfn, 2, 300};
  uint64_t mapped = 0;
  ASSERT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096, 0, &mapped), PVOPS_OK);
  EXPECT_EQ(mapped, 300u) << "the loader's page count";
  EXPECT_EQ(Table(4)[0], 0 | kWritable);
  EXPECT_EQ(Table(4)[1], 1 * 4096 | kReadOnly);
  EXPECT_EQ(Table(4)[2], 2 * 4096 | kReadOnly);
  EXPECT_EQ(Table(4)[3], 3 * 4096 | kWritable);
  EXPECT_EQ(Table(4)[299], 299 * 4096 | kWritable);
  EXPECT_EQ(Table(4)[300], 0u);
}

TEST_F(DirectMapTest, TheTopLevelTableIsReachedThroughTheLoadersMappingWhenTheKernelHasNone) {
  env_ = sim::MakeEnv(nullptr);
  env_.phys_to_virt = nullptr;  // the kernel maps nothing yet
  ASSERT_EQ(pvops_init(&env_), PVOPS_OK);
  uint64_t mapped = 0;
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096, 10, &mapped),
            PVOPS_ERR_INVALID)
      << "no way to the top-level table";
  EXPECT_EQ(mapped, 0u);
  core::g_loader_mapping =
      core::LoaderMapping{reinterpret_cast<uintptr_t>(memory_), 2 * 4096, kRootPfn, 1, 0};
  ASSERT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096, 10, &mapped), PVOPS_OK);
  EXPECT_EQ(mapped, 10u);
  EXPECT_EQ(Table(kRootPfn)[kSlot], 6 * 4096 | kLink);
}

TEST_F(DirectMapTest, TheMapIsCutToTheTablesGiven) {
  Boot();
  uint64_t mapped = 0;
  // Three pages: the L3, one L2 and one L1, which maps 512 pages.
  ASSERT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096 + 100, 2000, &mapped),
            PVOPS_OK);
  EXPECT_EQ(mapped, 512u);
  EXPECT_EQ(Table(4)[511], 511 * 4096 | kWritable);
  EXPECT_EQ(Table(kRootPfn)[kSlot], 6 * 4096 | kLink);
}

TEST_F(DirectMapTest, WhatCannotBeBuiltIsRefusedBeforeAnythingIsWritten) {
  Boot();
  uint64_t mapped = 99;
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa + 4096, Tables(), 3 * 4096, 10, &mapped),
            PVOPS_ERR_INVALID)
      << "not 512 GiB aligned";
  EXPECT_EQ(mapped, 0u);
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, Table(4) + 1, 3 * 4096, 10, &mapped),
            PVOPS_ERR_INVALID)
      << "tables not page-aligned";
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, nullptr, 3 * 4096, 10, &mapped),
            PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096, 10, nullptr),
            PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096, 0, &mapped), PVOPS_ERR_INVALID)
      << "all of memory, but no loader said how much";
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 2 * 4096, 10, &mapped),
            PVOPS_ERR_NO_RESOURCE)
      << "no room for an L1";
  Table(kRootPfn)[kSlot] = 0x9000 | kLink;
  EXPECT_EQ(pvops_build_direct_map(kDirectMapVa, Tables(), 3 * 4096, 10, &mapped),
            PVOPS_ERR_INVALID)
      << "the top-level entry is taken";
  EXPECT_EQ(Table(kRootPfn)[kSlot], 0x9000 | kLink);
  for (uint64_t pfn = kFirstTablePfn; pfn < kMemoryPages; ++pfn)
    for (uint32_t i = 0; i < 512; ++i) ASSERT_EQ(Table(pfn)[i], 0u) << pfn << "[" << i << "]";
}

}  // namespace
}  // namespace pvops::test
