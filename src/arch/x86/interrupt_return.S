/* SPDX-License-Identifier: MIT */
/*
 * The end of a kernel's interrupt and exception entries, in place of iretq: the frame the CPU
 * built (rip, cs, rflags, rsp, ss) on the stack, every register restored. The table says how
 * the backend returns (kernel.interrupt_return: iretq natively, HYPERVISOR_iret on Xen PV).
 */
/* offsetof(struct pvops_ops, kernel.interrupt_return): hw/cpu_instructions.cc asserts it. */
#define PVOPS_INTERRUPT_RETURN_SLOT (48 * 8)

	.section .text.pvops_interrupt_return, "ax"
	.globl	pvops_interrupt_return
	.type	pvops_interrupt_return, @function
pvops_interrupt_return:
	jmp	*pvops_table + PVOPS_INTERRUPT_RETURN_SLOT(%rip)
	.size	pvops_interrupt_return, . - pvops_interrupt_return

	.globl	pvops_native_interrupt_return
	.type	pvops_native_interrupt_return, @function
pvops_native_interrupt_return:
	iretq
	.size	pvops_native_interrupt_return, . - pvops_native_interrupt_return

	.section .note.GNU-stack, "", @progbits
