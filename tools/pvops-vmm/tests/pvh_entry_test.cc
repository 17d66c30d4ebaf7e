// SPDX-License-Identifier: MIT
#include "pvh_entry.h"

#include <gtest/gtest.h>

namespace pvops::vmm {
namespace {

TEST(PvhEntry, RegistersCarryEntryAndStartInfo) {
  const kvm_regs regs = PvhEntryRegs(0x1000c0, 0x1000);
  EXPECT_EQ(regs.rip, 0x1000c0u);
  EXPECT_EQ(regs.rbx, 0x1000u);
  EXPECT_EQ(regs.rflags, 0x2u);  // IF clear, only the always-one bit
}

TEST(PvhEntry, ProtectedModeFlatSegmentsPagingOff) {
  kvm_sregs reset{};
  reset.cr0 = 0x60000010;  // KVM's reset CR0 (CD, NW, ET)
  reset.apic_base = 0xfee00900;
  const kvm_sregs sregs = PvhEntrySregs(reset);
  EXPECT_EQ(sregs.cr0, 0x11u);  // PE and ET; PG, CD, NW clear
  EXPECT_EQ(sregs.cr4, 0u);
  EXPECT_EQ(sregs.efer, 0u);
  EXPECT_EQ(sregs.apic_base, 0xfee00900u);  // fields PVH leaves open keep KVM's values
  for (const kvm_segment* segment : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.ss}) {
    EXPECT_EQ(segment->base, 0u);
    EXPECT_EQ(segment->limit, 0xffffffffu);
    EXPECT_EQ(segment->db, 1);
    EXPECT_EQ(segment->g, 1);
    EXPECT_EQ(segment->present, 1);
    EXPECT_EQ(segment->dpl, 0);
  }
  EXPECT_EQ(sregs.cs.type, 0xb);  // execute/read
  EXPECT_EQ(sregs.ds.type, 0x3);  // read/write
  EXPECT_EQ(sregs.tr.type, 0xb);  // busy 32-bit TSS
  EXPECT_EQ(sregs.tr.limit, 0x67u);
}

}  // namespace
}  // namespace pvops::vmm
