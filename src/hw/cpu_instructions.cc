// SPDX-License-Identifier: MIT
#include "hw/cpu_instructions.h"

#include "arch/x86/arch.h"
#include "arch/x86/registers.h"

namespace pvops::hw {
namespace {

// Port 0x80 is the POST-code port: a write to it takes ~1 us on the ISA bus and changes
// nothing, the classic delay between accesses to slow legacy devices.
constexpr uint16_t kPostCodePort = 0x80;

}  // namespace

void Cpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs* out) {
  if (out != nullptr) *out = arch::cpuid(leaf, subleaf);
}

[[nodiscard]] pvops_status LoadIdt(const void* idt, uint16_t limit) {
  arch::lidt(idt, limit);
  return PVOPS_OK;
}

[[nodiscard]] pvops_status LoadGdt(const void* gdt, uint16_t limit, uint16_t code_selector,
                                   uint16_t data_selector) {
  arch::lgdt_and_reload(gdt, limit, code_selector, data_selector);
  return PVOPS_OK;
}

[[nodiscard]] pvops_status LoadTr(uint16_t selector) {
  arch::ltr(selector);
  return PVOPS_OK;
}

uint64_t ReadCr2() { return arch::read_cr2(); }

// The assembly's offset of the slot pvops_interrupt_return jumps through.
static_assert(offsetof(pvops_ops, kernel.interrupt_return) == 48 * sizeof(void*));
#ifdef PVOPS_SIM_CPU
// Never jumped to in the host tests: a stand-in for the assembly.
extern "C" void pvops_native_interrupt_return() {}
#endif

uint64_t ReadMsr(uint32_t msr) { return arch::rdmsr(msr); }
void WriteMsr(uint32_t msr, uint64_t value) { arch::wrmsr(msr, value); }

[[nodiscard]] pvops_status ReadMsrSafe(uint32_t msr, uint64_t* value) {
  if (value == nullptr) return PVOPS_ERR_INVALID;
  return arch::rdmsr_safe(msr, value) ? PVOPS_OK : PVOPS_ERR_FAULT;
}

[[nodiscard]] pvops_status WriteMsrSafe(uint32_t msr, uint64_t value) {
  return arch::wrmsr_safe(msr, value) ? PVOPS_OK : PVOPS_ERR_FAULT;
}

void IoDelay() { arch::outb(kPostCodePort, 0); }
void Halt() { arch::hlt(); }
void SafeHalt() { arch::sti_hlt(); }

// RFLAGS as pushf reads it and as popf loads it, exactly what a patched site's `pushf; pop` and
// `push; popf` do (native_patch.cc), so that patching changes nothing a caller can see.
uint64_t SaveFlags() { return arch::save_flags(); }
void RestoreFlags(uint64_t flags) { arch::restore_flags(flags); }

void IrqDisable() { arch::cli(); }
void IrqEnable() { arch::sti(); }

arch::HypercallInsn HypercallInsnForVendor() {
  const pvops_cpuid_regs v = arch::cpuid(0, 0);
  const bool amd =
      (v.ebx == 0x68747541 && v.ecx == 0x444d4163 && v.edx == 0x69746e65) ||  // AuthenticAMD
      (v.ebx == 0x6f677948 && v.ecx == 0x656e6975 && v.edx == 0x6e65476e);    // HygonGenuine
  return amd ? arch::HypercallInsn::kVmmcall : arch::HypercallInsn::kVmcall;
}

}  // namespace pvops::hw
