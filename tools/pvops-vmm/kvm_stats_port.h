/* SPDX-License-Identifier: MIT */
// The bench's window on KVM's own counters: a guest `inl` on these ports returns the exits (or
// hypercalls) KVM has counted so far, summed over every vCPU, low 32 bits. The guest reads them
// before and after an op's loop (guest/bench/kvm_exit_counter.h, which repeats these numbers).
// Each read is itself one exit; the guest measures and subtracts that.
#pragma once

#include <cstdint>
#include <span>

namespace pvops::vmm {

inline constexpr uint16_t kKvmStatsPortMagic = 0x0f60;       // reads kKvmStatsMagic
inline constexpr uint16_t kKvmStatsPortExits = 0x0f64;       // reads KVM's "exits"
inline constexpr uint16_t kKvmStatsPortHypercalls = 0x0f68;  // reads KVM's "hypercalls"
// Some of the exits by reason, so that a phase's count can be told apart: halts, host
// interrupts, interrupt windows and port I/O (the rest are mostly MSR and CPUID exits, which KVM
// does not count apart).
inline constexpr uint16_t kKvmStatsPortHaltExits = 0x0f6c;       // "halt_exits"
inline constexpr uint16_t kKvmStatsPortIrqExits = 0x0f70;        // "irq_exits"
inline constexpr uint16_t kKvmStatsPortIrqWindowExits = 0x0f74;  // "irq_window_exits"
inline constexpr uint16_t kKvmStatsPortIoExits = 0x0f78;         // "io_exits"
inline constexpr uint32_t kKvmStatsMagic = 0x54415453;           // "STAT"

bool IsKvmStatsPort(uint16_t port);
// The KVM counter a port reads; nullptr for the magic port and any other.
const char* KvmStatsPortCounter(uint16_t port);

// Serves one access (writes are ignored); `vcpu_stats_fds` are the vCPUs' KVM_GET_STATS_FD fds.
void ServeKvmStatsPort(uint16_t port, bool is_write, std::span<uint8_t> data,
                       std::span<const int> vcpu_stats_fds);

}  // namespace pvops::vmm
