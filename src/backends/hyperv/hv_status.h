/* SPDX-License-Identifier: MIT */
// TLFS hypercall status codes: their names, and what each means as a pvops_status.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::hyperv {

struct StatusInfo {
  uint16_t code;
  const char* name;     // the TLFS name, e.g. "HV_STATUS_ACCESS_DENIED"
  pvops_status status;  // what a caller of the table sees
};

// Every status code the TLFS defines (in code order).
const StatusInfo* KnownStatuses(size_t* count);

// PVOPS_ERR_HYPERVISOR for a code the TLFS does not define.
[[nodiscard]] pvops_status ToPvopsStatus(uint16_t hv_status);
// "HV_STATUS_UNKNOWN" for a code the TLFS does not define.
const char* StatusName(uint16_t hv_status);

}  // namespace pvops::hyperv
