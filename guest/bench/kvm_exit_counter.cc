// SPDX-License-Identifier: MIT
#include "bench/kvm_exit_counter.h"

#include <pvops/pvops.hpp>

#include "bench/raw_insns.h"

namespace guest::bench {

bool KvmExitCounterPresent() {
  // pvops-vmm runs the kvm and hyperv environments; a Xen guest's port reads go to Xen (and
  // fault in PV ring 3), so only Xen is never probed. Elsewhere the read answers all ones.
  if (pvops::Info().entry == PVOPS_ENTRY_XEN_PV || pvops::ChosenBackend() == pvops::Backend::kXen)
    return false;
  return RawInl(kKvmStatsPortMagic) == kKvmStatsMagic;
}

KvmExitCounts ReadKvmExitCounts() {
  KvmExitCounts c;
  c.exits = RawInl(kKvmStatsPortExits);
  c.hypercalls = RawInl(kKvmStatsPortHypercalls);
  return c;
}

KvmExitCounts KvmExitCounterOverhead() {
  // The smallest of a few back-to-back differences: a stray interrupt can only add exits.
  KvmExitCounts best{~0u, ~0u};
  for (int i = 0; i < 8; ++i) {
    const KvmExitCounts a = ReadKvmExitCounts();
    const KvmExitCounts b = ReadKvmExitCounts();
    if (b.exits - a.exits < best.exits) best.exits = b.exits - a.exits;
    if (b.hypercalls - a.hypercalls < best.hypercalls)
      best.hypercalls = b.hypercalls - a.hypercalls;
  }
  return best;
}

}  // namespace guest::bench
