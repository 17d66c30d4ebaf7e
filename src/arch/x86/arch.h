/* SPDX-License-Identifier: MIT */
// The arch layer: every privileged x86 instruction the library executes lives behind these
// functions and nowhere else. The freestanding build inlines the real instructions; the hosted
// test build (PVOPS_SIM_CPU) declares the same functions and tests/sim implements them on a
// scriptable simulated CPU, so every backend's logic runs under GoogleTest on the host.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::arch {

// Registers in and out of a hypercall-like instruction. Each convention uses a subset:
// KVM (rax nr; rbx, rcx, rdx, rsi), Xen (rax nr; rdi, rsi, rdx, r10, r8),
// Hyper-V (rcx control; rdx in, r8 out), VMware backdoor (eax..edi).
struct HypercallRegs {
  uint64_t rax, rbx, rcx, rdx, rsi, rdi, r8, r9, r10;
};

// Which instruction enters the hypervisor on this CPU: Intel VMX uses vmcall, AMD SVM vmmcall.
enum class HypercallInsn : uint8_t { kVmcall, kVmmcall };

#if defined(PVOPS_SIM_CPU)

pvops_cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf);
uint64_t rdmsr(uint32_t msr);
void wrmsr(uint32_t msr, uint64_t value);
bool rdmsr_safe(uint32_t msr, uint64_t* value);  // false: the instruction faulted
bool wrmsr_safe(uint32_t msr, uint64_t value);
uint8_t inb(uint16_t port);
uint16_t inw(uint16_t port);
uint32_t inl(uint16_t port);
void outb(uint16_t port, uint8_t value);
void outw(uint16_t port, uint16_t value);
void outl(uint16_t port, uint32_t value);
uint64_t save_flags();
void restore_flags(uint64_t flags);
void cli();
void sti();
void hlt();
void sti_hlt();
void pause();
uint64_t read_cr2();
uint64_t read_cr3();
void write_cr3(uint64_t value);
uint64_t read_cr4();
void write_cr4(uint64_t value);
void invlpg(uint64_t va);
void write_cr0(uint64_t value);
uint64_t read_cr8();
void write_cr8(uint64_t value);
void lidt(const void* base, uint16_t limit);
// lgdt, then CS by a far return and DS, ES, SS by moves.
void lgdt_and_reload(const void* base, uint16_t limit, uint16_t code, uint16_t data);
void ltr(uint16_t selector);
uint64_t rdtsc();
uint32_t mmio_read32(volatile uint32_t* addr);
void mmio_write32(volatile uint32_t* addr, uint32_t value);
void hypercall(HypercallInsn insn, HypercallRegs& regs);
// Call a stub of a hypervisor-filled hypercall page (Xen, Hyper-V) with the given registers.
void call_stub(const void* stub, HypercallRegs& regs);
// VMware backdoor: `in %dx, %eax` with every register live.
void backdoor_in(HypercallRegs& regs);

#else  // the real instructions

inline pvops_cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf) {
  pvops_cpuid_regs r;
  asm volatile("cpuid"
               : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
               : "a"(leaf), "c"(subleaf));
  return r;
}
inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}
}  // namespace pvops::arch
// Out of line (arch_x86.cc) so pvops_fixup_fault knows the one faulting address of each.
extern "C" int pvops_arch_rdmsr_safe(uint32_t msr, uint64_t* value);
extern "C" int pvops_arch_wrmsr_safe(uint32_t msr, uint64_t value);
namespace pvops::arch {
inline bool rdmsr_safe(uint32_t msr, uint64_t* value) {
  return pvops_arch_rdmsr_safe(msr, value) == 0;
}
inline bool wrmsr_safe(uint32_t msr, uint64_t value) {
  return pvops_arch_wrmsr_safe(msr, value) == 0;
}

inline uint8_t inb(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint16_t inw(uint16_t port) {
  uint16_t v;
  asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t inl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline void outb(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" ::"a"(value), "Nd"(port));
}
inline void outw(uint16_t port, uint16_t value) {
  asm volatile("outw %0, %1" ::"a"(value), "Nd"(port));
}
inline void outl(uint16_t port, uint32_t value) {
  asm volatile("outl %0, %1" ::"a"(value), "Nd"(port));
}

inline uint64_t save_flags() {
  uint64_t flags;
  asm volatile("pushfq; popq %0" : "=rm"(flags)::"memory");
  return flags;
}
inline void restore_flags(uint64_t flags) {
  asm volatile("pushq %0; popfq" ::"g"(flags) : "memory", "cc");
}
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// sti's one-instruction shadow makes the pair atomic: no interrupt slips in before hlt.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause" ::: "memory"); }

inline uint64_t read_cr2() {
  uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
inline uint64_t read_cr3() {
  uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
inline void write_cr3(uint64_t value) { asm volatile("mov %0, %%cr3" ::"r"(value) : "memory"); }
inline uint64_t read_cr4() {
  uint64_t v;
  asm volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}
inline void write_cr4(uint64_t value) { asm volatile("mov %0, %%cr4" ::"r"(value) : "memory"); }
inline void invlpg(uint64_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }
// lidt's and lgdt's operand.
struct [[gnu::packed]] TablePointer {
  uint16_t limit;
  const void* base;
};
inline void write_cr0(uint64_t value) { asm volatile("mov %0, %%cr0" ::"r"(value) : "memory"); }
inline uint64_t read_cr8() {
  uint64_t v;
  asm volatile("mov %%cr8, %0" : "=r"(v));
  return v;
}
inline void write_cr8(uint64_t value) { asm volatile("mov %0, %%cr8" ::"r"(value) : "memory"); }
inline void lidt(const void* base, uint16_t limit) {
  const TablePointer idt{limit, base};
  asm volatile("lidt %0" ::"m"(idt) : "memory");
}
inline void lgdt_and_reload(const void* base, uint16_t limit, uint16_t code, uint16_t data) {
  const TablePointer gdt{limit, base};
  asm volatile("lgdt %[gdt]\n\t"
               "mov %[data], %%ds\n\t"
               "mov %[data], %%es\n\t"
               "mov %[data], %%ss\n\t"
               "pushq %q[code]\n\t"
               "leaq 1f(%%rip), %%rax\n\t"
               "pushq %%rax\n\t"
               "lretq\n"
               "1:"
               :
               : [gdt] "m"(gdt), [data] "r"(uint32_t{data}), [code] "r"(uint64_t{code})
               : "rax", "memory");
}
inline void ltr(uint16_t selector) { asm volatile("ltr %0" ::"r"(selector) : "memory"); }
inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}
inline uint32_t mmio_read32(volatile uint32_t* addr) { return *addr; }
inline void mmio_write32(volatile uint32_t* addr, uint32_t value) { *addr = value; }

inline void hypercall(HypercallInsn insn, HypercallRegs& r) {
  register uint64_t r8 asm("r8") = r.r8;
  register uint64_t r9 asm("r9") = r.r9;
  register uint64_t r10 asm("r10") = r.r10;
  if (insn == HypercallInsn::kVmmcall) {
    asm volatile("vmmcall"
                 : "+a"(r.rax), "+b"(r.rbx), "+c"(r.rcx), "+d"(r.rdx), "+S"(r.rsi), "+D"(r.rdi),
                   "+r"(r8), "+r"(r9), "+r"(r10)
                 :
                 : "memory", "r11");
  } else {
    asm volatile("vmcall"
                 : "+a"(r.rax), "+b"(r.rbx), "+c"(r.rcx), "+d"(r.rdx), "+S"(r.rsi), "+D"(r.rdi),
                   "+r"(r8), "+r"(r9), "+r"(r10)
                 :
                 : "memory", "r11");
  }
  r.r8 = r8;
  r.r9 = r9;
  r.r10 = r10;
}
inline void call_stub(const void* stub, HypercallRegs& r) {
  register uint64_t r8 asm("r8") = r.r8;
  register uint64_t r9 asm("r9") = r.r9;
  register uint64_t r10 asm("r10") = r.r10;
  // The stubs may clobber rcx and r11 (Xen PV enters by syscall) besides their outputs. The
  // stub's address in a register: a memory operand would go through the stack first.
  asm volatile("call *%[stub]"
               : "+a"(r.rax), "+b"(r.rbx), "+c"(r.rcx), "+d"(r.rdx), "+S"(r.rsi), "+D"(r.rdi),
                 "+r"(r8), "+r"(r9), "+r"(r10)
               : [stub] "r"(stub)
               : "memory", "r11");
  r.r8 = r8;
  r.r9 = r9;
  r.r10 = r10;
}
inline void backdoor_in(HypercallRegs& r) {
  asm volatile("inl %%dx, %%eax"
               : "+a"(r.rax), "+b"(r.rbx), "+c"(r.rcx), "+d"(r.rdx), "+S"(r.rsi), "+D"(r.rdi)
               :
               : "memory");
}

#endif  // PVOPS_SIM_CPU

}  // namespace pvops::arch
