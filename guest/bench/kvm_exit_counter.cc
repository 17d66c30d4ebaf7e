#include "bench/kvm_exit_counter.h"

#include <pvops/pvops.hpp>

#include "bench/raw_insns.h"

namespace guest::bench {

bool KvmExitCounterPresent() {
  if (pvops::ChosenBackend() != pvops::Backend::kKvm) return false;
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
    if (b.hypercalls - a.hypercalls < best.hypercalls) best.hypercalls = b.hypercalls - a.hypercalls;
  }
  return best;
}

}  // namespace guest::bench
