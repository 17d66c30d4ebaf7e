/* SPDX-License-Identifier: MIT */
// The bare instructions the bench sets next to each pvops op, with no library around them: the
// "raw" side of every ratio. Kept here (not in the library's arch layer) so the baseline cannot
// pick up anything the library adds. The suite's time.reference reads the CMOS RTC with the
// port helpers for the same reason: its reference must not share code with the clock it judges.
#pragma once

#include <stdint.h>

namespace guest::bench {

// lfence keeps rdtsc from being taken before earlier instructions finish.
inline uint64_t ReadTsc() {
  uint32_t lo, hi;
  asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return (uint64_t{hi} << 32) | lo;
}

inline uint64_t RawSaveFlagsCli() {
  uint64_t flags;
  asm volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
  return flags;
}
inline void RawRestoreFlags(uint64_t flags) {
  asm volatile("pushq %0; popfq" ::"r"(flags) : "memory", "cc");
}

inline uint64_t RawRdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (uint64_t{hi} << 32) | lo;
}
inline void RawWrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}

inline uint8_t RawInb(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t RawInl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline void RawOutb(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" ::"a"(value), "Nd"(port));
}

inline void RawInvlpg(uint64_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }
inline void RawReloadCr3() {
  uint64_t cr3;
  asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3)::"memory");
}

// KVM's hypercall ABI (nr in rax, arguments in rbx, rcx, rdx, rsi; result in rax). AMD enters
// with vmmcall, Intel with vmcall.
inline int64_t RawKvmHypercall(bool amd, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                               uint64_t a3) {
  uint64_t rax = nr;
  if (amd) {
    asm volatile("vmmcall" : "+a"(rax) : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
  } else {
    asm volatile("vmcall" : "+a"(rax) : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
  }
  return static_cast<int64_t>(rax);
}

// A direct call into a hypervisor-filled hypercall page with Hyper-V's fast-call registers
// (control in rcx, input in rdx and r8; status in rax).
inline uint64_t RawHypervStubCall(const void* stub, uint64_t control, uint64_t in0, uint64_t in1) {
  uint64_t rax;
  register uint64_t r8 asm("r8") = in1;
  uint64_t rcx = control, rdx = in0;
  asm volatile("call *%[stub]"
               : "=a"(rax), "+c"(rcx), "+d"(rdx), "+r"(r8)
               : [stub] "r"(stub)
               : "memory", "r9", "r10", "r11");
  return rax;
}

// A direct call of a Xen hypercall-page stub (`mov $nr,%eax; syscall|vmmcall; ret`) with Xen's
// argument registers (rdi, rsi, rdx, r10, r8); result in rax.
inline int64_t RawXenStubCall(const void* stub, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                              uint64_t a4) {
  uint64_t rax;
  register uint64_t r10 asm("r10") = a3;
  register uint64_t r8 asm("r8") = a4;
  asm volatile("call *%[stub]"
               : "=a"(rax), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
               : [stub] "r"(stub)
               : "memory", "rcx", "r9", "r11");
  return static_cast<int64_t>(rax);
}

// VMware's backdoor: `in` on port 0x5658 with the magic in eax, the command in ecx and its
// argument in ebx.
inline uint32_t RawVmwareBackdoor(uint32_t command, uint32_t argument) {
  uint32_t eax = 0x564d5868, ebx = argument, ecx = command, edx = 0x5658;
  asm volatile("inl %%dx, %%eax" : "+a"(eax), "+b"(ebx), "+c"(ecx), "+d"(edx)::"memory");
  return eax;
}

}  // namespace guest::bench
