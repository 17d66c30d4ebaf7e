// SPDX-License-Identifier: MIT
// The arch layer of the PVOPS_SIM_CPU build: each privileged instruction becomes a call into
// the current SimCpu.
#include "arch/x86/arch.h"

#include <gtest/gtest.h>

#include "sim_cpu.h"
#include "sim_fault.h"

namespace pvops::arch {

using sim::Current;

pvops_cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf) {
  return Current().ExecCpuid(leaf, subleaf);
}

uint64_t rdmsr(uint32_t msr) {
  const std::optional<uint64_t> value = Current().ExecRdmsr(msr);
  if (!value) {
    ADD_FAILURE() << "#GP: rdmsr of MSR 0x" << std::hex << msr << " outside a safe accessor";
  }
  return value.value_or(0);
}

void wrmsr(uint32_t msr, uint64_t value) {
  if (!Current().ExecWrmsr(msr, value)) {
    ADD_FAILURE() << "#GP: wrmsr of MSR 0x" << std::hex << msr << " outside a safe accessor";
  }
}

bool rdmsr_safe(uint32_t msr, uint64_t* value) {
  const std::optional<uint64_t> v = Current().ExecRdmsr(msr);
  if (v) {
    *value = *v;
    return true;
  }
  sim::RaiseGeneralProtection(sim::RdmsrSafeSite());
  *value = 0;  // as the real recovery path leaves it
  return false;
}

bool wrmsr_safe(uint32_t msr, uint64_t value) {
  if (Current().ExecWrmsr(msr, value)) return true;
  sim::RaiseGeneralProtection(sim::WrmsrSafeSite());
  return false;
}

uint8_t inb(uint16_t port) { return static_cast<uint8_t>(Current().ExecIn(port, 1)); }
uint16_t inw(uint16_t port) { return static_cast<uint16_t>(Current().ExecIn(port, 2)); }
uint32_t inl(uint16_t port) { return Current().ExecIn(port, 4); }
void outb(uint16_t port, uint8_t value) { Current().ExecOut(port, 1, value); }
void outw(uint16_t port, uint16_t value) { Current().ExecOut(port, 2, value); }
void outl(uint16_t port, uint32_t value) { Current().ExecOut(port, 4, value); }

uint64_t save_flags() { return Current().ExecSaveFlags(); }
void restore_flags(uint64_t flags) { Current().ExecRestoreFlags(flags); }
void cli() { Current().ExecCli(); }
void sti() { Current().ExecSti(); }
void hlt() { Current().ExecHlt(); }
void sti_hlt() { Current().ExecStiHlt(); }
void pause() { Current().ExecPause(); }

uint64_t read_cr2() { return Current().ExecReadCr2(); }
uint64_t read_cr3() { return Current().ExecReadCr3(); }
void write_cr3(uint64_t value) { Current().ExecWriteCr3(value); }
uint64_t read_cr4() { return Current().ExecReadCr4(); }
void write_cr4(uint64_t value) { Current().ExecWriteCr4(value); }
void invlpg(uint64_t va) { Current().ExecInvlpg(va); }
void write_cr0(uint64_t value) { Current().ExecWriteCr0(value); }
uint64_t read_cr8() { return Current().ExecReadCr8(); }
void write_cr8(uint64_t value) { Current().ExecWriteCr8(value); }
void lidt(const void* base, uint16_t limit) { Current().ExecLidt(base, limit); }
void lgdt_and_reload(const void* base, uint16_t limit, uint16_t code, uint16_t data) {
  Current().ExecLgdt(base, limit, code, data);
}
void ltr(uint16_t selector) { Current().ExecLtr(selector); }
uint64_t rdtsc() { return Current().ExecRdtsc(); }

uint32_t mmio_read32(volatile uint32_t* addr) { return Current().ExecMmioRead(addr); }
void mmio_write32(volatile uint32_t* addr, uint32_t value) { Current().ExecMmioWrite(addr, value); }

void hypercall(HypercallInsn insn, HypercallRegs& regs) { Current().ExecHypercall(insn, regs); }
void call_stub(const void* stub, HypercallRegs& regs) { Current().ExecCallStub(stub, regs); }
void backdoor_in(HypercallRegs& regs) { Current().ExecBackdoor(regs); }

}  // namespace pvops::arch
