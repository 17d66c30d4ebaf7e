/* SPDX-License-Identifier: MIT */
// The ops that are one instruction each: CPUID, MSRs, the port 0x80 delay, hlt, and the
// interrupt flag. Every backend's table starts from these (Linux's native_* counterparts).
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "arch/x86/arch.h"

namespace pvops::hw {

void Cpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs* out);
uint64_t ReadMsr(uint32_t msr);
void WriteMsr(uint32_t msr, uint64_t value);
[[nodiscard]] pvops_status ReadMsrSafe(uint32_t msr, uint64_t* value);
[[nodiscard]] pvops_status WriteMsrSafe(uint32_t msr, uint64_t value);
void IoDelay();
void Halt();
void SafeHalt();

// Only RFLAGS.IF travels in `flags`.
uint64_t SaveFlags();
void RestoreFlags(uint64_t flags);
void IrqDisable();
void IrqEnable();

// The descriptor-table loads and CR2 (the kernel group).
[[nodiscard]] pvops_status LoadIdt(const void* idt, uint16_t limit);
[[nodiscard]] pvops_status LoadGdt(const void* gdt, uint16_t limit, uint16_t code_selector,
                                   uint16_t data_selector);
[[nodiscard]] pvops_status LoadTr(uint16_t selector);
uint64_t ReadCr2();
[[nodiscard]] pvops_status WriteGdtEntry(void* gdt, uint32_t index, uint64_t descriptor);
[[nodiscard]] pvops_status LoadTls(void* gdt, uint32_t first_index, const uint64_t* descriptors);
[[nodiscard]] pvops_status SetKernelStack(void* tss, uint64_t stack_top);
[[nodiscard]] pvops_status WriteCr0(uint64_t value);
[[nodiscard]] pvops_status WriteCr4(uint64_t value);
uint64_t ReadTpr();
[[nodiscard]] pvops_status WriteTpr(uint64_t priority_class);
// The native kernel.interrupt_return (arch/x86/interrupt_return.S): iretq.
extern "C" void pvops_native_interrupt_return();

// How this CPU enters a hypervisor (KVM's and Xen HVM's hypercalls): vmcall on Intel VMX,
// vmmcall on AMD SVM and Hygon, by CPUID leaf 0's vendor.
arch::HypercallInsn HypercallInsnForVendor();

}  // namespace pvops::hw
