// Native's call sites: where the table still holds a native op that is one instruction (or
// two), the site becomes that instruction, as Linux's native_patch does. Each sequence is
// exactly what the native function executes (hw/cpu_instructions.cc, hw/paging.cc), so a
// patched and an unpatched kernel behave the same.
#include "backends/native/native.h"
#include "core/backend.h"
#include "core/patch.h"

namespace pvops::native {
namespace {

struct NativeSequence {
  uint32_t slot;
  uint8_t length;
  uint8_t bytes[7];
};

// Callee-saved ops touch only %rax (and the flags); the others may also use %rax.
constexpr NativeSequence kSequences[] = {
    {PVOPS_SLOT_OF(irq.save_flags), 2, {0x9c, 0x58}},           // pushf; pop %rax
    {PVOPS_SLOT_OF(irq.restore_flags), 2, {0x57, 0x9d}},        // push %rdi; popf
    {PVOPS_SLOT_OF(irq.disable), 1, {0xfa}},                    // cli
    {PVOPS_SLOT_OF(irq.enable), 1, {0xfb}},                     // sti
    {PVOPS_SLOT_OF(cpu.halt), 1, {0xf4}},                       // hlt
    {PVOPS_SLOT_OF(cpu.safe_halt), 2, {0xfb, 0xf4}},            // sti; hlt
    {PVOPS_SLOT_OF(mmu.read_cr3), 3, {0x0f, 0x20, 0xd8}},       // mov %cr3, %rax
    {PVOPS_SLOT_OF(mmu.write_cr3), 3, {0x0f, 0x22, 0xdf}},      // mov %rdi, %cr3
    {PVOPS_SLOT_OF(mmu.flush_tlb_one), 3, {0x0f, 0x01, 0x3f}},  // invlpg (%rdi)
    // mov %cr3, %rax; mov %rax, %cr3
    {PVOPS_SLOT_OF(mmu.flush_tlb_local), 6, {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8}},
};

}  // namespace

bool PatchSite(const core::Site& site, core::SiteCode* out) {
  if (site.op != core::OpInSlot(core::kNativeOps, site.slot)) return false;
  for (const NativeSequence& s : kSequences)
    if (s.slot == site.slot) return core::EmitInline(site, s.bytes, s.length, out);
  return false;
}

}  // namespace pvops::native
