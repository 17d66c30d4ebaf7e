// pvops_info.paravirt, computed once the chosen backend's table is installed.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::core {

// PVOPS_PV_* bits of the ops in `table` that differ from the native table's.
uint32_t ParavirtOps(const pvops_ops& table);

}  // namespace pvops::core
