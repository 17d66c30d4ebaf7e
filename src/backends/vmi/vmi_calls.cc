// SPDX-License-Identifier: MIT
#include "backends/vmi/vmi_calls.h"

namespace pvops::vmi {

RomCalls g_rom;

namespace {

// What this library does with each call number: which relocation types it can live with.
enum class Use : uint8_t {
  kUnused,    // not called: any known type, entries still inside the ROM
  kMustAct,   // called for its effect or its result: CALL_REL, or NONE for the native op
  kMayBeNop,  // a notification or a delay: NOP (skip it) is a fine answer too
};

Use UseOf(uint32_t call) {
  switch (call) {
    case VMI_CALL_IODelay:
    case VMI_CALL_UpdatePxE:
    case VMI_CALL_UpdatePxELong:
    case VMI_CALL_SetLazyMode: return Use::kMayBeNop;
    case VMI_CALL_CPUID:
    case VMI_CALL_WRMSR:
    case VMI_CALL_RDMSR:
    case VMI_CALL_SetCR3:
    case VMI_CALL_GetCR3:
    case VMI_CALL_RDTSC:
    case VMI_CALL_EnableInterrupts:
    case VMI_CALL_DisableInterrupts:
    case VMI_CALL_GetInterruptMask:
    case VMI_CALL_SetInterruptMask:
    case VMI_CALL_Halt:
    case VMI_CALL_Shutdown:
    case VMI_CALL_SetPxE:
    case VMI_CALL_SetPxELong:
    case VMI_CALL_InvalPage:
    case VMI_CALL_FlushTLB:
    case VMI_CALL_APICWrite:
    case VMI_CALL_APICRead:
    case VMI_CALL_GetCycleFrequency:
    case VMI_CALL_GetCycleCounter:
    case VMI_CALL_GetApicFrequency:
    case VMI_CALL_GetHypervisorVersion: return Use::kMustAct;
    default: return Use::kUnused;
  }
}

uint64_t SlotAddress(const RomLayout& rom, uint32_t slot) {
  return reinterpret_cast<uintptr_t>(rom.code) + slot;
}

int32_t CallInit(const RomLayout& rom) {
  arch::HypercallRegs r{};
  arch::call_stub(reinterpret_cast<const void*>(SlotAddress(rom, VMI_OFFSET_INIT_SLOT)), r);
  kCounters.Count(Counter::kRomCalls);
  return static_cast<int32_t>(r.rax);
}

void GetReloc(const RomLayout& rom, uint32_t call, uint64_t* entry, uint64_t* type_word) {
  arch::HypercallRegs r{};
  r.rdi = call;
  arch::call_stub(reinterpret_cast<const void*>(SlotAddress(rom, VMI_OFFSET_GET_RELOC_SLOT)), r);
  kCounters.Count(Counter::kRomCalls);
  *entry = r.rax;
  *type_word = r.rdx;
}

bool CheckRelocation(const RomLayout& rom, uint32_t call, uint64_t entry, uint64_t type_word,
                     core::Reason* why) {
  why->Add("call ").AddDec(call).Add(": ");
  if (type_word > VMI_RELOCATION_NOP) {
    why->Add("relocation word ").AddHex(type_word).Add(" is not a known type");
    return false;
  }
  const uint8_t type = static_cast<uint8_t>(type_word);
  if (type == VMI_RELOCATION_CALL_REL || type == VMI_RELOCATION_JUMP_REL) {
    const uint64_t code_start = SlotAddress(rom, VMI_HEADER_BYTES);
    const uint64_t rom_end = SlotAddress(rom, rom.length);
    if (entry < code_start || entry >= rom_end) {
      why->Add("entry ")
          .AddHex(entry)
          .Add(" outside the ROM's code ")
          .AddHex(code_start)
          .Add("-")
          .AddHex(rom_end);
      return false;
    }
  }
  const Use use = UseOf(call);
  if (use != Use::kUnused && type == VMI_RELOCATION_JUMP_REL) {
    why->Add("JUMP_REL, but the call is made with call");
    return false;
  }
  if (use == Use::kMustAct && type == VMI_RELOCATION_NOP) {
    why->Add("NOP, but the call cannot be skipped");
    return false;
  }
  why->Clear();
  return true;
}

}  // namespace

bool LoadRomCalls(const RomLayout& rom, RomCalls* out, core::Reason* why) {
  why->Add("VMI ROM at ").AddHex(rom.phys).Add(" refused: ");
  if (const int32_t status = CallInit(rom); status != VMI_INIT_OK) {
    why->Add("init returned ")
        .AddDec(static_cast<uint32_t>(status))
        .Add(status == VMI_INIT_NO_HYPERVISOR ? " (its hypervisor did not answer)" : "");
    return false;
  }
  *out = RomCalls{};
  for (uint32_t call = 0; call < rom.jump_slots; ++call) {
    uint64_t entry = 0, type_word = 0;
    GetReloc(rom, call, &entry, &type_word);
    char detail[PVOPS_REASON_LEN];
    core::Reason problem(detail, sizeof(detail));
    if (!CheckRelocation(rom, call, entry, type_word, &problem)) {
      why->Add(detail);
      *out = RomCalls{};  // nothing half-loaded stays callable
      return false;
    }
    out->type[call] = static_cast<uint8_t>(type_word);
    out->entry[call] = type_word == VMI_RELOCATION_CALL_REL ? entry : 0;
  }
  out->rom = rom;
  why->Clear();
  return true;
}

}  // namespace pvops::vmi
