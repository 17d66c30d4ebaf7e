// SPDX-License-Identifier: MIT
#include "backends/hyperv/hv_vp_set.h"

#include "backends/hyperv/hv_tlfs.h"
#include "backends/hyperv/hyperv.h"
#include "core/runtime.h"

namespace pvops::hyperv {
namespace {

// Calls fn(vp_index) for each CPU of the set but `except`; stops at the first failure.
template <typename Fn>
GatherResult ForEachVp(const pvops_cpuset* cpus, uint32_t except, Fn fn) {
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (cpu == except || !pvops_cpuset_has(cpus, cpu)) continue;
    if (core::Cpu(cpu).online == 0) return GatherResult::kOffline;
    uint32_t vp;
    if (!VpIndexOf(cpu, &vp)) return GatherResult::kNoVpIndex;
    fn(vp);
  }
  return GatherResult::kOk;
}

}  // namespace

GatherResult GatherVps(const pvops_cpuset* cpus, uint32_t except, VpTargets* out) {
  *out = VpTargets{};
  return ForEachVp(cpus, except, [out](uint32_t vp) {
    out->valid_banks |= uint64_t{1} << (vp / kVpsPerBank);
    ++out->count;
  });
}

uint64_t VpMask(const pvops_cpuset* cpus, uint32_t except) {
  uint64_t mask = 0;
  (void)ForEachVp(cpus, except, [&mask](uint32_t vp) {
    if (vp < kVpsPerBank) mask |= uint64_t{1} << vp;
  });
  return mask;
}

void WriteVpBanks(const pvops_cpuset* cpus, uint32_t except, uint64_t valid_banks,
                  uint64_t* banks) {
  const uint32_t n = static_cast<uint32_t>(__builtin_popcountll(valid_banks));
  for (uint32_t i = 0; i < n; ++i) banks[i] = 0;
  (void)ForEachVp(cpus, except, [valid_banks, banks](uint32_t vp) {
    const uint32_t bank = vp / kVpsPerBank;
    if (((valid_banks >> bank) & 1) == 0) return;
    // A bank's slot is its rank among the valid banks.
    const uint64_t lower = valid_banks & ((uint64_t{1} << bank) - 1);
    banks[__builtin_popcountll(lower)] |= uint64_t{1} << (vp % kVpsPerBank);
  });
}

}  // namespace pvops::hyperv
