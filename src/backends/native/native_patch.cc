// SPDX-License-Identifier: MIT
// Native's call sites: where the table still holds a native op that is one instruction (or
// two), the site becomes that instruction (arch/x86/native_insns.h), as Linux's native_patch
// does. Each sequence is exactly what the native function executes (hw/cpu_instructions.cc,
// hw/paging.cc, hw/lapic.cc), so a patched and an unpatched kernel behave the same.
#include "arch/x86/native_insns.h"
#include "backends/native/native.h"
#include "core/backend.h"
#include "core/patch.h"
#include "hw/lapic.h"

namespace pvops::native {
namespace {

struct NativeSequence {
  uint32_t slot;
  const arch::InsnBytes& insns;
};

constexpr NativeSequence kSequences[] = {
    {PVOPS_SLOT_OF(irq.save_flags), arch::kPushfPopRax},
    {PVOPS_SLOT_OF(irq.restore_flags), arch::kPushRdiPopf},
    {PVOPS_SLOT_OF(irq.disable), arch::kCli},
    {PVOPS_SLOT_OF(irq.enable), arch::kSti},
    {PVOPS_SLOT_OF(cpu.halt), arch::kHlt},
    {PVOPS_SLOT_OF(cpu.safe_halt), arch::kStiHlt},
    {PVOPS_SLOT_OF(mmu.read_cr3), arch::kReadCr3},
    {PVOPS_SLOT_OF(mmu.write_cr3), arch::kWriteCr3},
    {PVOPS_SLOT_OF(mmu.flush_tlb_one), arch::kInvlpgRdi},
    {PVOPS_SLOT_OF(mmu.flush_tlb_local), arch::kReloadCr3},
};

// The native EOI as the LAPIC stands now: the x2APIC EOI MSR write, or one store to the mapped
// xAPIC register. A kernel that moves its APIC mapping or mode later runs pvops_patch() again
// (pvops.h).
bool PatchEoi(const core::Site& site, core::SiteCode* out) {
  hw::Lapic apic;
  if (hw::Lapic::Get(&apic) != PVOPS_OK) return false;
  if (apic.x2apic()) {
    static_assert(hw::X2apicMsr(hw::ApicReg::kEoi) == 0x80b, "kX2apicEoi names this MSR");
    return core::EmitInline(site, arch::kX2apicEoi.bytes, arch::kX2apicEoi.length, out);
  }
  // One store to the register wherever it is mapped.
  arch::InsnBytes store = arch::kStoreZeroAbsolute;
  const auto address = reinterpret_cast<uintptr_t>(apic.EoiRegister());
  for (uint32_t i = 0; i < 8; ++i)
    store.bytes[arch::kStoreZeroAddressAt + i] = static_cast<uint8_t>(address >> (8 * i));
  return core::EmitInline(site, store.bytes, store.length, out);
}

}  // namespace

bool PatchSite(const core::Site& site, core::SiteCode* out) {
  if (site.op != core::OpInSlot(core::kNativeOps, site.slot)) return false;
  if (site.slot == PVOPS_SLOT_OF(irq.eoi)) return PatchEoi(site, out);
  for (const NativeSequence& s : kSequences)
    if (s.slot == site.slot) return core::EmitInline(site, s.insns.bytes, s.insns.length, out);
  return false;
}

}  // namespace pvops::native
