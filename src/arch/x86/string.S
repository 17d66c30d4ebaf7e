/* SPDX-License-Identifier: MIT */
/*
 * memcpy, memset, memmove and memcmp for the freestanding archive: compilers emit calls to them
 * for struct copies and zeroing even under -ffreestanding. Written in assembly so no compiler
 * can turn their loops back into calls to themselves. Weak, so a kernel's own versions win.
 * The SysV ABI guarantees the direction flag is clear on entry.
 */
	.text

	.weak	memcpy
	.type	memcpy, @function
memcpy:				/* rdi = dst, rsi = src, rdx = n; returns dst */
	movq	%rdi, %rax
	movq	%rdx, %rcx
	rep movsb
	ret
	.size	memcpy, . - memcpy

	.weak	memset
	.type	memset, @function
memset:				/* rdi = dst, esi = byte, rdx = n; returns dst */
	movq	%rdi, %r9
	movl	%esi, %eax
	movq	%rdx, %rcx
	rep stosb
	movq	%r9, %rax
	ret
	.size	memset, . - memset

	.weak	memmove
	.type	memmove, @function
memmove:			/* rdi = dst, rsi = src, rdx = n; returns dst */
	movq	%rdi, %rax
	movq	%rdx, %rcx
	cmpq	%rsi, %rdi
	jbe	1f		/* dst at or below src: a forward copy never overwrites unread bytes */
	leaq	(%rsi,%rdx), %r8
	cmpq	%r8, %rdi
	jae	1f		/* no overlap */
	leaq	-1(%rsi,%rdx), %rsi
	leaq	-1(%rdi,%rdx), %rdi
	std
	rep movsb
	cld
	ret
1:	rep movsb
	ret
	.size	memmove, . - memmove

	.weak	memcmp
	.type	memcmp, @function
memcmp:				/* rdi = a, rsi = b, rdx = n; returns <0, 0, >0 */
	xorl	%eax, %eax
	testq	%rdx, %rdx
	jz	2f
1:	movzbl	(%rdi), %eax
	movzbl	(%rsi), %ecx
	subl	%ecx, %eax
	jnz	2f
	incq	%rdi
	incq	%rsi
	decq	%rdx
	jnz	1b
2:	ret
	.size	memcmp, . - memcmp

	.section .note.GNU-stack, "", @progbits
