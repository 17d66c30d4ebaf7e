/* SPDX-License-Identifier: MIT */
/*
 * The default of pvops_kernel_virt_base, the VIRT_BASE of the Xen PV entry's notes
 * (xen_pv_boot.S): 0, an image linked at its physical addresses. Weak, so that the kernel's
 * linker script overrides it; in a file of its own, so that the note refers to it by a
 * relocation.
 */
.weak pvops_kernel_virt_base
.set pvops_kernel_virt_base, 0

.section .note.GNU-stack, "", @progbits
