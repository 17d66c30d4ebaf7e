// SPDX-License-Identifier: MIT
/* See kvm_uapi.h: the C view of linux/kvm.h's flexible-array structs and their ioctls. */
#include <linux/kvm.h>
#include <stddef.h>

const unsigned long pvops_kvm_ioctl_get_supported_cpuid = KVM_GET_SUPPORTED_CPUID;
const unsigned long pvops_kvm_ioctl_set_cpuid2 = KVM_SET_CPUID2;
const unsigned long pvops_kvm_ioctl_get_supported_hv_cpuid = KVM_GET_SUPPORTED_HV_CPUID;
const unsigned long pvops_kvm_ioctl_get_msrs = KVM_GET_MSRS;
const unsigned long pvops_kvm_ioctl_set_msrs = KVM_SET_MSRS;
const unsigned long pvops_kvm_ioctl_set_gsi_routing = KVM_SET_GSI_ROUTING;
const unsigned long pvops_kvm_ioctl_get_msr_index_list = KVM_GET_MSR_INDEX_LIST;
const unsigned long pvops_kvm_ioctl_get_xsave = KVM_GET_XSAVE;
const unsigned long pvops_kvm_ioctl_get_xsave2 = KVM_GET_XSAVE2;
const unsigned long pvops_kvm_ioctl_set_xsave = KVM_SET_XSAVE;
const size_t pvops_kvm_cpuid2_entries_offset = offsetof(struct kvm_cpuid2, entries);
const size_t pvops_kvm_msrs_entries_offset = offsetof(struct kvm_msrs, entries);
const size_t pvops_kvm_msr_list_indices_offset = offsetof(struct kvm_msr_list, indices);
const size_t pvops_kvm_irq_routing_entries_offset = offsetof(struct kvm_irq_routing, entries);
const size_t pvops_kvm_stats_desc_name_offset = offsetof(struct kvm_stats_desc, name);
const size_t pvops_kvm_xsave_size = sizeof(struct kvm_xsave);
