/* SPDX-License-Identifier: MIT */
// What a backend's table holds: pvops_info.paravirt, computed once the chosen backend's table is
// installed, and (host tests, debug builds) whether it left a slot empty.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::core {

// PVOPS_PV_* bits of the ops in `table` that differ from the native table's.
uint32_t ParavirtOps(const pvops_ops& table);

// Linux's PVOP_TEST_NULL: every init's table is checked for a null slot in the host tests' build
// and in debug builds; the freestanding release archive leaves the check out.
#if defined(PVOPS_SIM_CPU) || !defined(NDEBUG)
#define PVOPS_CHECK_EMPTY_SLOTS 1

struct TableSlot {
  const char* group;  // "cpu", "irq", ... as in pvops_ops
  uint32_t index;     // within the group, in declaration order
  uint32_t offset;    // bytes from the start of pvops_ops
};
// Finds the first null slot of `table`; false when every slot is filled.
bool FindEmptySlot(const pvops_ops& table, TableSlot* empty);
#endif

}  // namespace pvops::core
