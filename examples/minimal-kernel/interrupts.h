/* SPDX-License-Identifier: MIT */
/* The kernel's IDT: the vectors it handles, and the frame its entry stubs build. */
#ifndef MINIMAL_KERNEL_INTERRUPTS_H
#define MINIMAL_KERNEL_INTERRUPTS_H

/* Vectors routed to pvops_handle_interrupt (the library's, <pvops/pvops.h> and <pvops/xen.h>,
 * spelled as numbers so that the assembly stubs can use them). */
#define VECTOR_SELF_IPI 0x40     /* this kernel's own: the IPI it sends itself */
#define VECTOR_XEN_CALLBACK 0xf3 /* PVOPS_XEN_HVM_CALLBACK_VECTOR: Xen's event upcall */
#define VECTOR_PARK 0xfc         /* PVOPS_VECTOR_PARK */
#define VECTOR_TLB_FLUSH 0xfd    /* the library's TLB shootdown */
#define VECTOR_SPURIOUS 0xff     /* the local APIC's spurious vector the library programs */
#define VECTOR_GENERAL_PROTECTION 13
#define VECTOR_FIRST_INTERRUPT 32

#ifndef __ASSEMBLER__
#include <stdint.h>

#include <pvops/pvops.h>

struct trap_frame {
  uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
  uint64_t vector, error_code;
  uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Fills the IDT with every stub of interrupts.S and loads it through the table. */
pvops_status load_idt(void);
/* Called by the stubs; in kernel.c. */
void trap_dispatch(struct trap_frame *frame);
#endif

#endif
