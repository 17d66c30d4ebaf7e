/* SPDX-License-Identifier: MIT */
// KVM's own binary statistics (KVM_GET_STATS_FD): the exit and hypercall counts that show which
// paths a guest really took.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace pvops::vmm {

struct KvmStat {
  std::string name;
  uint32_t flags;  // KVM_STATS_TYPE_* | KVM_STATS_UNIT_* | KVM_STATS_BASE_*
  std::vector<uint64_t> values;
};

// Parses the whole content of a stats fd (header, descriptors, data).
std::vector<KvmStat> ParseKvmStats(std::span<const uint8_t> content);

// Reads a stats fd from offset 0 to its end and parses it.
std::vector<KvmStat> ReadKvmStats(int stats_fd);

// Adds the plain event counters (cumulative, unitless, one value) into totals by name; timings,
// gauges and histograms are left out because they are not counts of events.
void AddEventCounters(const std::vector<KvmStat>& stats, std::map<std::string, uint64_t>& totals);

}  // namespace pvops::vmm
