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

[[nodiscard]] pvops_status WriteGdtEntry(void* gdt, uint32_t index, uint64_t descriptor) {
  if (gdt == nullptr) return PVOPS_ERR_INVALID;
  static_cast<volatile uint64_t*>(gdt)[index] = descriptor;
  return PVOPS_OK;
}

// Every backend's load_tls: its own write_gdt_entry, one descriptor after another.
[[nodiscard]] pvops_status LoadTls(void* gdt, uint32_t first_index, const uint64_t* descriptors) {
  if (descriptors == nullptr) return PVOPS_ERR_INVALID;
  for (uint32_t i = 0; i < PVOPS_TLS_ENTRIES; ++i)
    if (const pvops_status st =
            pvops_table.kernel.write_gdt_entry(gdt, first_index + i, descriptors[i]);
        st != PVOPS_OK)
      return st;
  return PVOPS_OK;
}

// rsp0 sits 4 bytes into the 64-bit TSS, after a reserved word: unaligned, so by bytes.
[[nodiscard]] pvops_status SetKernelStack(void* tss, uint64_t stack_top) {
  if (tss == nullptr) return PVOPS_ERR_INVALID;
  __builtin_memcpy(static_cast<unsigned char*>(tss) + 4, &stack_top, sizeof(stack_top));
  return PVOPS_OK;
}

[[nodiscard]] pvops_status WriteCr0(uint64_t value) {
  arch::write_cr0(value);
  return PVOPS_OK;
}

[[nodiscard]] pvops_status WriteCr4(uint64_t value) {
  arch::write_cr4(value);
  return PVOPS_OK;
}

uint64_t ReadTpr() { return arch::read_cr8(); }

[[nodiscard]] pvops_status WriteTpr(uint64_t priority_class) {
  if (priority_class > 15) return PVOPS_ERR_INVALID;
  arch::write_cr8(priority_class);
  return PVOPS_OK;
}

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
