/* SPDX-License-Identifier: MIT */
// The descriptor tables every CPU loads: one GDT (code, data, one TSS per CPU) and one IDT
// whose 256 gates lead to trap_entry.S. #DF, NMI and #MC switch to the CPU's fault stack (IST1),
// so even a blown kernel stack gets its FAULT line.
#pragma once

#include <stdint.h>

namespace guest {

inline constexpr uint16_t kKernelCodeSelector = 0x08;
inline constexpr uint16_t kKernelDataSelector = 0x10;

// Fills the IDT; once, on the boot CPU, before the first LoadCpuTables.
void BuildIdt();

// Installs `cpu`'s TSS and loads GDT, segments, task register and IDT on the running CPU.
void LoadCpuTables(uint32_t cpu);

}  // namespace guest
