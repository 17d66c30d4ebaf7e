// SPDX-License-Identifier: MIT
#include "kvm_stats.h"
#include "kvm_stats_port.h"

#include <gtest/gtest.h>
#include <linux/kvm.h>

#include <cstring>
#include <span>

#include <sys/mman.h>
#include <unistd.h>

#include "kvm_uapi.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint32_t kNameSize = 48;

struct FakeStat {
  const char* name;
  uint32_t flags;
  std::vector<uint64_t> values;
};

// Lays out a stats file the way KVM does: header, id string, descriptors (each followed by its
// name field), data block.
std::vector<uint8_t> StatsFile(const std::vector<FakeStat>& stats) {
  const uint32_t descriptor_stride =
      static_cast<uint32_t>(pvops_kvm_stats_desc_name_offset) + kNameSize;
  kvm_stats_header header{};
  header.name_size = kNameSize;
  header.num_desc = static_cast<uint32_t>(stats.size());
  header.id_offset = sizeof(header);
  header.desc_offset = header.id_offset + kNameSize;
  header.data_offset = header.desc_offset + descriptor_stride * header.num_desc;
  uint32_t data_size = 0;
  for (const auto& stat : stats) data_size += static_cast<uint32_t>(stat.values.size() * 8);

  std::vector<uint8_t> file(header.data_offset + data_size, 0);
  std::memcpy(file.data(), &header, sizeof(header));
  std::memcpy(file.data() + header.id_offset, "kvm-1234/vcpu-0", 15);
  uint32_t data_at = 0;
  for (size_t i = 0; i < stats.size(); ++i) {
    uint8_t* descriptor = file.data() + header.desc_offset + i * descriptor_stride;
    const uint32_t flags = stats[i].flags;
    const uint16_t size = static_cast<uint16_t>(stats[i].values.size());
    std::memcpy(descriptor + offsetof(kvm_stats_desc, flags), &flags, sizeof(flags));
    std::memcpy(descriptor + offsetof(kvm_stats_desc, size), &size, sizeof(size));
    std::memcpy(descriptor + offsetof(kvm_stats_desc, offset), &data_at, sizeof(data_at));
    std::memcpy(descriptor + pvops_kvm_stats_desc_name_offset, stats[i].name,
                std::strlen(stats[i].name));
    std::memcpy(file.data() + header.data_offset + data_at, stats[i].values.data(), size * 8);
    data_at += size * 8;
  }
  return file;
}

const std::vector<FakeStat> kVcpuStats = {
    {"exits", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE, {1234}},
    {"hypercalls", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE, {56}},
    {"halt_wait_ns", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS, {999999}},
    {"guest_mode", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, {1}},
    {"halt_poll_success_hist", KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS, {1, 2, 3, 4}},
};

TEST(KvmStats, DescriptorNameFollowsTheSixteenByteFixedPart) {
  // flags, exponent, size, offset, bucket_size: 4 + 2 + 2 + 4 + 4 bytes in the kernel's layout.
  EXPECT_EQ(pvops_kvm_stats_desc_name_offset, 16u);
}

TEST(KvmStats, ParsesNamesFlagsAndValues) {
  const auto stats = ParseKvmStats(StatsFile(kVcpuStats));
  ASSERT_EQ(stats.size(), kVcpuStats.size());
  EXPECT_EQ(stats[0].name, "exits");
  EXPECT_EQ(stats[0].values, std::vector<uint64_t>{1234});
  EXPECT_EQ(stats[1].name, "hypercalls");
  EXPECT_EQ(stats[2].flags,
            static_cast<uint32_t>(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS));
  EXPECT_EQ(stats[4].name, "halt_poll_success_hist");
  EXPECT_EQ(stats[4].values, (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(KvmStats, SumsOnlyEventCountersOverVcpus) {
  std::map<std::string, uint64_t> totals;
  AddEventCounters(ParseKvmStats(StatsFile(kVcpuStats)), totals);
  AddEventCounters(ParseKvmStats(StatsFile({{"exits", KVM_STATS_TYPE_CUMULATIVE, {66}},
                                            {"hypercalls", KVM_STATS_TYPE_CUMULATIVE, {4}}})),
                   totals);
  EXPECT_EQ(totals.size(), 2u);  // timings, gauges and histograms are not event counts
  EXPECT_EQ(totals["exits"], 1300u);
  EXPECT_EQ(totals["hypercalls"], 60u);
}

// What a guest's inl on each port returns: the counter summed over the vCPUs' stats files.
TEST(KvmStatsPort, EachPortReadsItsCounterSummedOverVcpus) {
  std::vector<int> fds;
  for (const uint64_t scale : {1u, 10u}) {
    const auto file = StatsFile({{"exits", KVM_STATS_TYPE_CUMULATIVE, {100 * scale}},
                                 {"hypercalls", KVM_STATS_TYPE_CUMULATIVE, {2 * scale}},
                                 {"halt_exits", KVM_STATS_TYPE_CUMULATIVE, {3 * scale}},
                                 {"irq_exits", KVM_STATS_TYPE_CUMULATIVE, {4 * scale}},
                                 {"irq_window_exits", KVM_STATS_TYPE_CUMULATIVE, {5 * scale}},
                                 {"io_exits", KVM_STATS_TYPE_CUMULATIVE, {6 * scale}}});
    const int fd = memfd_create("vcpu-stats", 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
    fds.push_back(fd);
  }
  const auto read_port = [&](uint16_t port) {
    uint8_t data[4] = {0xff, 0xff, 0xff, 0xff};
    ServeKvmStatsPort(port, false, data, fds);
    uint32_t value;
    std::memcpy(&value, data, sizeof(value));
    return value;
  };
  EXPECT_EQ(read_port(kKvmStatsPortMagic), kKvmStatsMagic);
  EXPECT_EQ(read_port(kKvmStatsPortExits), 1100u);
  EXPECT_EQ(read_port(kKvmStatsPortHypercalls), 22u);
  EXPECT_EQ(read_port(kKvmStatsPortHaltExits), 33u);
  EXPECT_EQ(read_port(kKvmStatsPortIrqExits), 44u);
  EXPECT_EQ(read_port(kKvmStatsPortIrqWindowExits), 55u);
  EXPECT_EQ(read_port(kKvmStatsPortIoExits), 66u);
  EXPECT_TRUE(IsKvmStatsPort(kKvmStatsPortIoExits));
  EXPECT_FALSE(IsKvmStatsPort(kKvmStatsPortIoExits + 4));
  EXPECT_EQ(KvmStatsPortCounter(kKvmStatsPortMagic), nullptr);
  for (const int fd : fds) close(fd);
}

TEST(KvmStats, RefusesTruncatedContent) {
  auto file = StatsFile(kVcpuStats);
  file.resize(file.size() - 8);
  EXPECT_THROW(ParseKvmStats(file), VmmError);
  EXPECT_THROW(ParseKvmStats(std::vector<uint8_t>(4, 0)), VmmError);
}

}  // namespace
}  // namespace pvops::vmm
