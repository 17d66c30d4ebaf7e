// SPDX-License-Identifier: MIT
#include "user_backend.h"

#include <pvops/pvops.h>

namespace pvops_bench {

// noinline: a call into another unit, as a backend linked at build time is reached.
[[gnu::noinline]] uint64_t DirectSaveFlags() { return InlineSaveFlags(); }
[[gnu::noinline]] void DirectIrqDisable() { InlineIrqDisable(); }
[[gnu::noinline]] void DirectRestoreFlags(uint64_t flags) { InlineRestoreFlags(flags); }
[[gnu::noinline]] uint64_t DirectClockNs() { return InlineClockNs(); }
[[gnu::noinline]] void DirectFlushTlbOne(uint64_t va) { InlineFlushTlbOne(va); }

void InstallUserBackend() {
  pvops_table.irq.save_flags = DirectSaveFlags;
  pvops_table.irq.disable = DirectIrqDisable;
  pvops_table.irq.restore_flags = DirectRestoreFlags;
  pvops_table.time.clock_ns = DirectClockNs;
  pvops_table.mmu.flush_tlb_one = DirectFlushTlbOne;
}

}  // namespace pvops_bench
