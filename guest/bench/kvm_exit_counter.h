/* SPDX-License-Identifier: MIT */
// KVM's own exit and hypercall counters, read from the guest through pvops-vmm's stats port
// (tools/pvops-vmm/kvm_stats_port.h): the exact number of exits an op caused in the kvm
// environments. Elsewhere there is no such port and the bench prints no exits_per_op.
#pragma once

#include <stdint.h>

namespace guest::bench {

// The port protocol, shared with tools/pvops-vmm/kvm_stats_port.h (keep the two in step).
inline constexpr uint16_t kKvmStatsPortMagic = 0x0f60;       // reads kKvmStatsMagic
inline constexpr uint16_t kKvmStatsPortExits = 0x0f64;       // reads exits, all vCPUs, low 32 bits
inline constexpr uint16_t kKvmStatsPortHypercalls = 0x0f68;  // reads hypercalls, all vCPUs
inline constexpr uint32_t kKvmStatsMagic = 0x54415453;       // "STAT"

struct KvmExitCounts {
  uint32_t exits;
  uint32_t hypercalls;
};

// Whether the port answers (never probed under Xen, where port reads belong to Xen).
bool KvmExitCounterPresent();

// The counts now. Each read is itself an exit; KvmExitCounterOverhead() measures what two snapshots
// with nothing between them differ by, which callers subtract.
KvmExitCounts ReadKvmExitCounts();
KvmExitCounts KvmExitCounterOverhead();

}  // namespace guest::bench
