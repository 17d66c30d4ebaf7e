/* SPDX-License-Identifier: MIT */
// Calling into a checked VMI ROM: its init, its get_reloc per call number, and the calls
// themselves with the System V argument registers (rom/README.md). The ROM's code runs in the
// kernel's executable mapping of it (RomLayout::code).
#pragma once

#include <stdint.h>

#include "arch/x86/arch.h"
#include "backends/vmi/vmi_abi.h"
#include "backends/vmi/vmi_backend.h"
#include "backends/vmi/vmi_rom.h"
#include "core/reason.h"
#include "core/runtime.h"

namespace pvops::vmi {

inline constexpr uint32_t kMaxCalls = 256;  // jump_slots is a byte

// What get_reloc said for every call number, after checking it.
struct RomCalls {
  RomLayout rom;
  uint64_t entry[kMaxCalls];  // the entry to call for CALL_REL, else 0
  uint8_t type[kMaxCalls];    // VMI_RELOCATION_*
};

// Runs the ROM's init, then asks get_reloc about every call number below jump_slots and checks
// each answer: a known type, entries inside the ROM's code, no reserved bits, and for the
// calls this library uses, a type it can use (rom/README.md, "What the backend accepts").
// Fills `out` only when everything holds; otherwise says why in `why`.
bool LoadRomCalls(const RomLayout& rom, RomCalls* out, core::Reason* why);

// The loaded ROM (LoadRomCalls into it at init; read-only afterwards).
extern RomCalls g_rom;

inline bool Provides(uint32_t call) { return g_rom.type[call] == VMI_RELOCATION_CALL_REL; }
inline bool IsNop(uint32_t call) { return g_rom.type[call] == VMI_RELOCATION_NOP; }

// One call into the ROM: up to four integer arguments, the rax result. Only for calls that
// Provides() says are CALL_REL.
inline uint64_t CallRom(uint32_t call, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
                        uint64_t a3 = 0) {
  arch::HypercallRegs r{};
  r.rdi = a0;
  r.rsi = a1;
  r.rdx = a2;
  r.rcx = a3;
  arch::call_stub(reinterpret_cast<const void*>(g_rom.entry[call]), r);
  kCounters.Count(Counter::kRomCalls);
  return r.rax;
}

}  // namespace pvops::vmi
