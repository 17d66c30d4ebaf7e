// SPDX-License-Identifier: MIT
// Xen HVM/PVH before pvops_init: the memory map (XENMEM_memory_map) and the console, by bare
// vmcall/vmmcall, with no hypercall page and no library state. Xen's answers are hostile here
// as often as not: the call must keep what is usable, say what it dropped, and never trust a
// count larger than the buffer it offered.
#include <gtest/gtest.h>

#include <string.h>

#include <string>
#include <vector>

#include "core/xen_public.h"  // first: pins the interface version

#include <xen/arch-x86/cpuid.h>
#include <xen/errno.h>
#include <xen/memory.h>

#include "fake_xen.h"

namespace pvops::test {
namespace {

constexpr uint32_t kBase = 0x40000000;

class XenEarlyTest : public XenPvTest {
 protected:
  XenEarlyTest() {
    fill_page_ = false;
    model_.hypervisor_bit = true;
    sim::LoadCpuModel(sim_, model_);
    sim_.SetHypervisorLeaf(kBase, kBase + 4, "XenVMMXenVMM");
    answer_ = [this](const XenCall& call) -> int64_t {
      if (call.nr != __HYPERVISOR_memory_op || call.args[0] != XENMEM_memory_map)
        return kFallThrough;
      auto* memmap = reinterpret_cast<xen_memory_map*>(static_cast<uintptr_t>(call.args[1]));
      offered_ = memmap->nr_entries;
      if (rc_ != 0) return rc_;
      auto* out = static_cast<pvops_xen_e820_entry*>(memmap->buffer.p);
      const size_t n = std::min<size_t>(xen_map_.size(), memmap->nr_entries);
      memcpy(out, xen_map_.data(), n * sizeof(pvops_xen_e820_entry));
      memmap->nr_entries = claimed_ != 0 ? claimed_ : static_cast<unsigned>(xen_map_.size());
      return 0;
    };
  }

  pvops_status Fetch() {
    map_.assign(kMax, pvops_xen_e820_entry{0xdead, 0xdead, 0xdead});
    return pvops_xen_hvm_memory_map(map_.data(), kMax, &count_, why_, sizeof(why_));
  }

  static constexpr uint32_t kMax = 8;
  std::vector<pvops_xen_e820_entry> xen_map_ = {
      {0, 0x9fc00, 1}, {0xf0000, 0x10000, 2}, {0x100000, 0x3f00000, 1}, {0x4000000, 0x1c000000, 5}};
  int64_t rc_ = 0;
  uint32_t claimed_ = 0;  // nr_entries Xen reports, when not the map's size
  uint32_t offered_ = 0;
  std::vector<pvops_xen_e820_entry> map_;
  uint32_t count_ = 99;
  char why_[PVOPS_REASON_LEN] = "stale";
};

TEST_F(XenEarlyTest, ReturnsXensMapByVmcallWithoutAPage) {
  ASSERT_EQ(Fetch(), PVOPS_OK) << why_;
  EXPECT_STREQ(why_, "");
  EXPECT_EQ(offered_, kMax);
  ASSERT_EQ(count_, 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(uint64_t{map_[i].addr}, uint64_t{xen_map_[i].addr});
    EXPECT_EQ(uint64_t{map_[i].size}, uint64_t{xen_map_[i].size});
    EXPECT_EQ(map_[i].type, xen_map_[i].type);
  }
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 1u);
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u) << "the page is not filled before pvops_init";
  EXPECT_EQ(pvops_get_info()->backend, PVOPS_BACKEND_NATIVE) << "no library state touched";
}

TEST_F(XenEarlyTest, UsesVmmcallOnAmd) {
  sim_.SetCpuid(0, {0x16, 0x68747541, 0x444d4163, 0x69746e65});  // AuthenticAMD
  ASSERT_EQ(Fetch(), PVOPS_OK) << why_;
  EXPECT_EQ(sim_.exits(sim::Exit::kVmmcall), 1u);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 0u);
}

TEST_F(XenEarlyTest, WithoutXenLeavesNothingIsExecuted) {
  sim_.SetHypervisorLeaf(kBase, kBase + 4, "KVMKVMKVM\0\0\0");
  EXPECT_EQ(Fetch(), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(count_, 0u);
  EXPECT_NE(strstr(why_, "no Xen CPUID leaves"), nullptr) << why_;
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall) + sim_.exits(sim::Exit::kVmmcall), 0u);
  pvops_xen_hvm_early_console_write("x", 1);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall) + sim_.exits(sim::Exit::kVmmcall), 0u);
}

TEST_F(XenEarlyTest, WithoutTheHypervisorBitNothingIsExecuted) {
  model_.hypervisor_bit = false;
  sim::LoadCpuModel(sim_, model_);
  EXPECT_EQ(Fetch(), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall) + sim_.exits(sim::Exit::kVmmcall), 0u);
}

TEST_F(XenEarlyTest, XensErrorIsReported) {
  rc_ = -XEN_ENOSYS;
  EXPECT_EQ(Fetch(), PVOPS_ERR_UNSUPPORTED);
  EXPECT_EQ(count_, 0u);
  EXPECT_NE(strstr(why_, "XENMEM_memory_map failed (38)"), nullptr) << why_;
  rc_ = 5;  // not an answer Xen gives
  EXPECT_EQ(Fetch(), PVOPS_ERR_HYPERVISOR);
}

TEST_F(XenEarlyTest, ACountBeyondTheBufferIsRefused) {
  claimed_ = kMax + 1;
  EXPECT_EQ(Fetch(), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(count_, 0u);
  EXPECT_NE(strstr(why_, "returned 9 entries for a buffer of 8"), nullptr) << why_;
  claimed_ = 0xffffffff;
  EXPECT_EQ(Fetch(), PVOPS_ERR_BAD_DATA);
}

TEST_F(XenEarlyTest, AnEmptyMapIsRefused) {
  xen_map_.clear();
  EXPECT_EQ(Fetch(), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(count_, 0u);
}

TEST_F(XenEarlyTest, BadEntriesAreDroppedAndTheRestKeptInOrder) {
  xen_map_ = {{0, 0x9fc00, 1},
              {0x1000, 0, 1},                             // empty
              {0xfffffffffffff000, 0x2000, 1},            // wraps
              {uint64_t{1} << 52, 0x1000, 1},             // beyond 2^52
              {(uint64_t{1} << 52) - 0x1000, 0x2000, 2},  // crosses 2^52
              {0x100000, 0x1000000, 0},                   // type 0
              {0x100000, 0x3f00000, 1}};
  ASSERT_EQ(Fetch(), PVOPS_OK) << why_;
  ASSERT_EQ(count_, 2u);
  EXPECT_EQ(uint64_t{map_[0].addr}, 0u);
  EXPECT_EQ(uint64_t{map_[1].addr}, 0x100000u);
  EXPECT_EQ(uint64_t{map_[1].size}, 0x3f00000u);
  EXPECT_NE(strstr(why_, "dropped 5 of 7 entries"), nullptr) << why_;
}

TEST_F(XenEarlyTest, AMapWithoutRamIsRefused) {
  xen_map_ = {{0xf0000, 0x10000, 2}, {0x1000, 0, 1}, {0x4000000, 0x1000, 5}};
  EXPECT_EQ(Fetch(), PVOPS_ERR_BAD_DATA);
  EXPECT_EQ(count_, 0u);
  EXPECT_NE(strstr(why_, "dropped 1 of 3"), nullptr) << why_;
  EXPECT_NE(strstr(why_, "no RAM range"), nullptr) << why_;
}

TEST_F(XenEarlyTest, BadArgumentsAreRefusedBeforeAnyCall) {
  uint32_t count = 7;
  pvops_xen_e820_entry one{};
  EXPECT_EQ(pvops_xen_hvm_memory_map(nullptr, 4, &count, nullptr, 0), PVOPS_ERR_INVALID);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(pvops_xen_hvm_memory_map(&one, 0, &count, why_, sizeof(why_)), PVOPS_ERR_INVALID);
  EXPECT_EQ(pvops_xen_hvm_memory_map(&one, 1, nullptr, why_, 1), PVOPS_ERR_INVALID);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall) + sim_.exits(sim::Exit::kVmmcall), 0u);
  // No reason buffer is fine, and a one-byte one holds just the terminator.
  EXPECT_EQ(pvops_xen_hvm_memory_map(&one, 1, &count, nullptr, 0), PVOPS_ERR_BAD_DATA);
}

TEST_F(XenEarlyTest, ConsoleWritesByVmcall) {
  pvops_xen_hvm_early_console_write("early\n", 6);
  EXPECT_EQ(console_, "early\n");
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 1u);
  pvops_xen_hvm_early_console_write(nullptr, 3);
  pvops_xen_hvm_early_console_write("x", 0);
  EXPECT_EQ(sim_.exits(sim::Exit::kVmcall), 1u);
}

}  // namespace
}  // namespace pvops::test
