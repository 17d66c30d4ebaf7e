// SPDX-License-Identifier: MIT
#include "pvh_entry.h"

namespace pvops::vmm {
namespace {

constexpr uint64_t kCr0ProtectionEnable = 1u << 0;
constexpr uint64_t kCr0ExtensionType = 1u << 4;  // hardwired to 1 on every CPU since the 486
constexpr uint64_t kRflagsReservedOne = 1u << 1;
constexpr uint8_t kSegmentTypeCodeExecuteReadAccessed = 0xb;
constexpr uint8_t kSegmentTypeDataReadWriteAccessed = 0x3;
constexpr uint8_t kSegmentTypeBusyTss32 = 0xb;
constexpr uint16_t kCodeSelector = 0x08;
constexpr uint16_t kDataSelector = 0x10;
constexpr uint16_t kTaskSelector = 0x18;

kvm_segment FlatSegment(uint16_t selector, uint8_t type) {
  kvm_segment segment{};
  segment.base = 0;
  segment.limit = 0xffffffff;
  segment.selector = selector;
  segment.type = type;
  segment.present = 1;
  segment.dpl = 0;
  segment.db = 1;  // 32-bit
  segment.s = 1;   // code/data, not system
  segment.l = 0;
  segment.g = 1;  // limit in 4 KiB units
  return segment;
}

}  // namespace

kvm_regs PvhEntryRegs(uint32_t entry, uint64_t start_info_address) {
  kvm_regs regs{};
  regs.rip = entry;
  regs.rbx = start_info_address;
  regs.rflags = kRflagsReservedOne;
  return regs;
}

kvm_sregs PvhEntrySregs(const kvm_sregs& reset_state) {
  kvm_sregs sregs = reset_state;
  sregs.cs = FlatSegment(kCodeSelector, kSegmentTypeCodeExecuteReadAccessed);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
      FlatSegment(kDataSelector, kSegmentTypeDataReadWriteAccessed);

  kvm_segment task{};
  task.selector = kTaskSelector;
  task.limit = 0x67;
  task.type = kSegmentTypeBusyTss32;
  task.present = 1;
  sregs.tr = task;

  kvm_segment no_ldt{};
  no_ldt.unusable = 1;
  sregs.ldt = no_ldt;

  sregs.cr0 = kCr0ProtectionEnable | kCr0ExtensionType;
  sregs.cr3 = 0;
  sregs.cr4 = 0;
  sregs.efer = 0;
  return sregs;
}

}  // namespace pvops::vmm
