/* SPDX-License-Identifier: MIT */
/*
 * rdmsr/wrmsr that survive an absent MSR. Each instruction sits at a known address with a
 * known recovery point after it; the kernel's #GP handler asks pvops_fixup_fault (fault_fixup.cc)
 * whether a fault came from one of them, and if so resumes at the recovery point, which
 * returns 1. Registers are as the instruction left them, so the recovery code may use them.
 *
 *   int pvops_arch_rdmsr_safe(uint32_t msr, uint64_t *value);  0 = read, 1 = faulted
 *   int pvops_arch_wrmsr_safe(uint32_t msr, uint64_t value);   0 = written, 1 = faulted
 */
	.text

	.globl	pvops_arch_rdmsr_safe
	.type	pvops_arch_rdmsr_safe, @function
pvops_arch_rdmsr_safe:
	movl	%edi, %ecx
	.globl	pvops_arch_rdmsr_insn
	.hidden	pvops_arch_rdmsr_insn
pvops_arch_rdmsr_insn:
	rdmsr
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, (%rsi)
	xorl	%eax, %eax
	ret
	.globl	pvops_arch_rdmsr_recover
	.hidden	pvops_arch_rdmsr_recover
pvops_arch_rdmsr_recover:
	movq	$0, (%rsi)
	movl	$1, %eax
	ret
	.size	pvops_arch_rdmsr_safe, . - pvops_arch_rdmsr_safe

	.globl	pvops_arch_wrmsr_safe
	.type	pvops_arch_wrmsr_safe, @function
pvops_arch_wrmsr_safe:
	movl	%edi, %ecx
	movl	%esi, %eax
	movq	%rsi, %rdx
	shrq	$32, %rdx
	.globl	pvops_arch_wrmsr_insn
	.hidden	pvops_arch_wrmsr_insn
pvops_arch_wrmsr_insn:
	wrmsr
	xorl	%eax, %eax
	ret
	.globl	pvops_arch_wrmsr_recover
	.hidden	pvops_arch_wrmsr_recover
pvops_arch_wrmsr_recover:
	movl	$1, %eax
	ret
	.size	pvops_arch_wrmsr_safe, . - pvops_arch_wrmsr_safe

	.section .note.GNU-stack, "", @progbits
