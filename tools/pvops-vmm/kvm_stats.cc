// SPDX-License-Identifier: MIT
#include "kvm_stats.h"

#include <linux/kvm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "kvm_uapi.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

template <typename T>
T ReadAt(std::span<const uint8_t> bytes, uint64_t offset) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset) {
    throw VmmError(
        absl::StrFormat("KVM stats truncated at offset %#x of %u bytes", offset, bytes.size()));
  }
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace

std::vector<KvmStat> ParseKvmStats(std::span<const uint8_t> content) {
  const auto header = ReadAt<kvm_stats_header>(content, 0);
  // Each descriptor's fixed part is followed by its name field of header.name_size bytes; the
  // fixed part's size comes from C (see kvm_uapi.h).
  const uint64_t descriptor_stride = pvops_kvm_stats_desc_name_offset + header.name_size;
  std::vector<KvmStat> stats;
  stats.reserve(header.num_desc);
  for (uint32_t index = 0; index < header.num_desc; ++index) {
    const uint64_t at = header.desc_offset + index * descriptor_stride;
    const auto descriptor = ReadAt<kvm_stats_desc>(content, at);
    const uint64_t name_at = at + pvops_kvm_stats_desc_name_offset;
    if (name_at + header.name_size > content.size())
      throw VmmError("KVM stats name runs past the end");
    const char* name = reinterpret_cast<const char*>(content.data() + name_at);
    KvmStat stat{std::string(name, strnlen(name, header.name_size)), descriptor.flags, {}};
    for (uint16_t item = 0; item < descriptor.size; ++item) {
      stat.values.push_back(ReadAt<uint64_t>(
          content, uint64_t{header.data_offset} + descriptor.offset + item * sizeof(uint64_t)));
    }
    stats.push_back(std::move(stat));
  }
  return stats;
}

std::vector<KvmStat> ReadKvmStats(int stats_fd) {
  std::vector<uint8_t> content;
  uint8_t chunk[4096];
  for (;;) {
    const ssize_t got = pread(stats_fd, chunk, sizeof(chunk), static_cast<off_t>(content.size()));
    if (got < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("reading KVM stats");
    }
    if (got == 0) break;
    content.insert(content.end(), chunk, chunk + got);
  }
  return ParseKvmStats(content);
}

void AddEventCounters(const std::vector<KvmStat>& stats, std::map<std::string, uint64_t>& totals) {
  for (const auto& stat : stats) {
    const bool cumulative = (stat.flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE;
    const bool unitless = (stat.flags & KVM_STATS_UNIT_MASK) == KVM_STATS_UNIT_NONE;
    if (cumulative && unitless && stat.values.size() == 1) totals[stat.name] += stat.values[0];
  }
}

}  // namespace pvops::vmm
