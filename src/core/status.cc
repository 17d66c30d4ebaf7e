// SPDX-License-Identifier: MIT
#include <pvops/pvops.h>

extern "C" const char* pvops_status_name(pvops_status status) {
  switch (status) {
    case PVOPS_OK: return "ok";
    case PVOPS_ERR_UNSUPPORTED: return "unsupported";
    case PVOPS_ERR_INVALID: return "invalid";
    case PVOPS_ERR_FAULT: return "fault";
    case PVOPS_ERR_DENIED: return "denied";
    case PVOPS_ERR_HYPERVISOR: return "hypervisor-error";
    case PVOPS_ERR_BAD_DATA: return "bad-data";
    case PVOPS_ERR_TIMEOUT: return "timeout";
    case PVOPS_ERR_BUSY: return "busy";
    case PVOPS_ERR_NO_RESOURCE: return "no-resource";
    case PVOPS_ERR_NO_CPU_AREA: return "no-cpu-area";
  }
  return "unknown-status";
}
