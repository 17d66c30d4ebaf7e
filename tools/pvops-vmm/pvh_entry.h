/* SPDX-License-Identifier: MIT */
// The register state PVH promises at the 32-bit entry: protected mode, paging off, flat 4 GiB
// code and data segments, a busy 32-bit TSS, ebx = hvm_start_info, interrupts off.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

namespace pvops::vmm {

kvm_regs PvhEntryRegs(uint32_t entry, uint64_t start_info_address);

// Starts from the vCPU's reset state so fields PVH leaves open keep KVM's values.
kvm_sregs PvhEntrySregs(const kvm_sregs& reset_state);

}  // namespace pvops::vmm
