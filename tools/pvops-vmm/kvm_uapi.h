/* SPDX-License-Identifier: MIT */
// linux/kvm.h values taken from the header compiled as C.
//
// Debian 12's 6.1 uapi headers declare flexible arrays with __DECLARE_FLEX_ARRAY, which wraps
// them in a struct holding an empty struct: size 0 in C, size 1 in C++. Seen from C++,
// struct kvm_cpuid2 is 12 bytes instead of 8, so KVM_GET_SUPPORTED_CPUID (whose number encodes
// that size) is a different ioctl and KVM answers EINVAL, and every `->entries` or `->name` is
// misplaced. The C translation unit behind these names sees the layout the kernel uses.
#pragma once

#include <cstddef>

extern "C" {
extern const unsigned long pvops_kvm_ioctl_get_supported_cpuid;
extern const unsigned long pvops_kvm_ioctl_set_cpuid2;
extern const unsigned long pvops_kvm_ioctl_get_supported_hv_cpuid;
extern const unsigned long pvops_kvm_ioctl_get_msrs;
extern const unsigned long pvops_kvm_ioctl_set_msrs;
extern const unsigned long pvops_kvm_ioctl_set_gsi_routing;
extern const unsigned long pvops_kvm_ioctl_get_msr_index_list;
extern const unsigned long pvops_kvm_ioctl_get_xsave;
extern const unsigned long pvops_kvm_ioctl_get_xsave2;
extern const unsigned long pvops_kvm_ioctl_set_xsave;
// Byte offsets of the flexible arrays: where the first element really starts.
extern const size_t pvops_kvm_cpuid2_entries_offset;
extern const size_t pvops_kvm_msrs_entries_offset;
extern const size_t pvops_kvm_msr_list_indices_offset;
extern const size_t pvops_kvm_irq_routing_entries_offset;
extern const size_t pvops_kvm_stats_desc_name_offset;
// sizeof(struct kvm_xsave) in C: the legacy XSAVE area KVM_GET_XSAVE fills.
extern const size_t pvops_kvm_xsave_size;
}
