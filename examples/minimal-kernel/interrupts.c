// SPDX-License-Identifier: MIT
/* The IDT: a 64-bit interrupt gate for each stub of interrupts.S, nothing else present, loaded
 * through the table. */
#include "interrupts.h"

#define KERNEL_CODE_SELECTOR 0x08
#define GATE_PRESENT_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate: IF cleared */

struct idt_gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type;
  uint16_t offset_middle;
  uint32_t offset_high;
  uint32_t reserved;
};

struct trap_stub {
  uint64_t vector;
  void (*entry)(void);
};

extern const struct trap_stub trap_stubs[], trap_stubs_end[];

static struct idt_gate idt[256];

pvops_status load_idt(void) {
  for (const struct trap_stub *stub = trap_stubs; stub < trap_stubs_end; ++stub) {
    const uint64_t entry = (uint64_t)stub->entry;
    idt[stub->vector] = (struct idt_gate){
        .offset_low = (uint16_t)entry,
        .selector = KERNEL_CODE_SELECTOR,
        .type = GATE_PRESENT_INTERRUPT,
        .offset_middle = (uint16_t)(entry >> 16),
        .offset_high = (uint32_t)(entry >> 32),
    };
  }
  /* lidt, or on Xen PV a trap table the library builds from these gates. */
  return pvops_load_idt(idt, sizeof idt - 1);
}
