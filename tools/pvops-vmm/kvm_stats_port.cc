#include "kvm_stats_port.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "kvm_stats.h"

namespace pvops::vmm {

bool IsKvmStatsPort(uint16_t port) {
  return port == kKvmStatsPortMagic || port == kKvmStatsPortExits ||
         port == kKvmStatsPortHypercalls;
}

void ServeKvmStatsPort(uint16_t port, bool is_write, std::span<uint8_t> data,
                       std::span<const int> vcpu_stats_fds) {
  if (is_write) return;
  uint32_t value = kKvmStatsMagic;
  if (port != kKvmStatsPortMagic) {
    std::map<std::string, uint64_t> totals;
    for (const int fd : vcpu_stats_fds) AddEventCounters(ReadKvmStats(fd), totals);
    value = static_cast<uint32_t>(totals[port == kKvmStatsPortExits ? "exits" : "hypercalls"]);
  }
  std::fill(data.begin(), data.end(), 0);
  std::memcpy(data.data(), &value, std::min(data.size(), sizeof(value)));
}

}  // namespace pvops::vmm
