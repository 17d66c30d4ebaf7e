/* SPDX-License-Identifier: MIT */
// What happens on every vector: exceptions are fixed up (the library's safe MSR accessors, the
// guest's probes) or reported as one FAULT line followed by the fault exit; vectors 32-255 go
// to the library's pvops_handle_interrupt.
#pragma once

#include <stdint.h>

namespace guest {

// The stack layout trap_entry.S builds, lowest address first.
struct TrapFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error;
  uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};

inline constexpr uint32_t kExitPass = 0x10;
inline constexpr uint32_t kExitFail = 0x11;
inline constexpr uint32_t kExitFault = 0x12;

// Prints a FAULT-style panic line with `what` and ends the run with the fault code.
[[noreturn]] void Panic(const char* what);

}  // namespace guest

extern "C" void trap_dispatch(guest::TrapFrame* frame);
