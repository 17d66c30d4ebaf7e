/* SPDX-License-Identifier: MIT */
// Reading an address that may be unmapped, without a FAULT report: for cases that check a
// mapping is gone.
#pragma once

#include <stdint.h>

struct ProbeResult {
  uint64_t value;
  uint64_t faulted;  // 1 when the load took #PF or #GP
};

extern "C" ProbeResult probe_read64(uint64_t va);
extern "C" const char probe_read64_insn[];
extern "C" const char probe_read64_fixup[];
