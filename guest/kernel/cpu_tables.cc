// SPDX-License-Identifier: MIT
#include "kernel/cpu_tables.h"

#include <pvops/pvops.hpp>

#include "kernel/layout.h"
#include "kernel/percpu.h"
#include "kernel/traps.h"

extern "C" const char trap_stubs[];  // trap_entry.S: 256 stubs, kTrapStubBytes apart

namespace guest {
namespace {

constexpr uint64_t kTrapStubBytes = 16;
constexpr uint8_t kFaultStackIst = 1;
constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL 0, 64-bit interrupt gate (clears IF)
constexpr uint8_t kVectorNmi = 2;
constexpr uint8_t kVectorDoubleFault = 8;
constexpr uint8_t kVectorMachineCheck = 18;

struct [[gnu::packed]] Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t io_map_base;
};
static_assert(sizeof(Tss) == 104);

struct IdtGate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

constexpr uint32_t kFirstTssSlot = 3;                         // after null, code, data
constexpr uint32_t kGdtSlots = kFirstTssSlot + 2 * kMaxCpus;  // a 64-bit TSS takes two slots

// Same selectors as the boot GDT in entry.S.
alignas(16) uint64_t g_gdt[kGdtSlots] = {0, 0x00af9a000000ffff, 0x00cf92000000ffff};
alignas(16) IdtGate g_idt[256];
Tss g_tss[kMaxCpus];

void SetTssDescriptor(uint32_t cpu) {
  const uint64_t base = reinterpret_cast<uint64_t>(&g_tss[cpu]);
  const uint64_t limit = sizeof(Tss) - 1;
  constexpr uint64_t kAvailableTss64Present = 0x89;
  g_gdt[kFirstTssSlot + 2 * cpu] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
                                   (kAvailableTss64Present << 40) | ((limit >> 16) << 48) |
                                   (((base >> 24) & 0xff) << 56);
  g_gdt[kFirstTssSlot + 2 * cpu + 1] = base >> 32;
}

}  // namespace

void BuildIdt() {
  for (uint32_t vector = 0; vector < 256; ++vector) {
    const uint64_t stub = reinterpret_cast<uint64_t>(trap_stubs) + vector * kTrapStubBytes;
    const bool on_fault_stack =
        vector == kVectorNmi || vector == kVectorDoubleFault || vector == kVectorMachineCheck;
    g_idt[vector] = IdtGate{
        .offset_low = static_cast<uint16_t>(stub),
        .selector = kKernelCodeSelector,
        .ist = on_fault_stack ? kFaultStackIst : uint8_t{0},
        .type = kInterruptGate,
        .offset_mid = static_cast<uint16_t>(stub >> 16),
        .offset_high = static_cast<uint32_t>(stub >> 32),
        .reserved = 0,
    };
  }
}

void LoadCpuTables(uint32_t cpu) {
  g_tss[cpu] = Tss{};
  g_tss[cpu].ist[kFaultStackIst - 1] = StackTop(fault_stacks[cpu]);
  g_tss[cpu].io_map_base = sizeof(Tss);  // no I/O bitmap
  SetTssDescriptor(cpu);

  // A hypervisor that keeps its own GDT (and has no TSS) answers unsupported: its selectors
  // stay, and so does its way of switching stacks.
  const pvops::Status gdt =
      pvops::LoadGdt(g_gdt, sizeof(g_gdt) - 1, kKernelCodeSelector, kKernelDataSelector);
  if (gdt.ok()) {
    const uint16_t tss_selector = static_cast<uint16_t>((kFirstTssSlot + 2 * cpu) * 8);
    if (!pvops::LoadTr(tss_selector).ok()) Panic("loading the TSS failed");
  } else if (gdt.code() != PVOPS_ERR_UNSUPPORTED) {
    Panic("loading the GDT failed");
  }
  if (!pvops::LoadIdt(g_idt, sizeof(g_idt) - 1).ok()) Panic("loading the IDT failed");
}

}  // namespace guest
