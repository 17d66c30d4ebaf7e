// SPDX-License-Identifier: MIT
#include "kvm_stats_port.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "kvm_stats.h"

namespace pvops::vmm {

const char* KvmStatsPortCounter(uint16_t port) {
  switch (port) {
    case kKvmStatsPortExits: return "exits";
    case kKvmStatsPortHypercalls: return "hypercalls";
    case kKvmStatsPortHaltExits: return "halt_exits";
    case kKvmStatsPortIrqExits: return "irq_exits";
    case kKvmStatsPortIrqWindowExits: return "irq_window_exits";
    case kKvmStatsPortIoExits: return "io_exits";
    default: return nullptr;
  }
}

bool IsKvmStatsPort(uint16_t port) {
  return port == kKvmStatsPortMagic || KvmStatsPortCounter(port) != nullptr;
}

void ServeKvmStatsPort(uint16_t port, bool is_write, std::span<uint8_t> data,
                       std::span<const int> vcpu_stats_fds) {
  if (is_write) return;
  uint32_t value = kKvmStatsMagic;
  if (const char* counter = KvmStatsPortCounter(port); counter != nullptr) {
    std::map<std::string, uint64_t> totals;
    for (const int fd : vcpu_stats_fds) AddEventCounters(ReadKvmStats(fd), totals);
    value = static_cast<uint32_t>(totals[counter]);
  }
  std::fill(data.begin(), data.end(), 0);
  std::memcpy(data.data(), &value, std::min(data.size(), sizeof(value)));
}

}  // namespace pvops::vmm
