// SPDX-License-Identifier: MIT
#include "backends/hyperv/hv_status.h"

#include "backends/hyperv/hv_tlfs.h"

namespace pvops::hyperv {
namespace {

// The mapping asks what the caller can do about it: fix its arguments (INVALID), live without
// the feature (UNSUPPORTED, DENIED), retry (BUSY, TIMEOUT), free something (NO_RESOURCE), or
// nothing but report (HYPERVISOR).
constexpr StatusInfo kStatuses[] = {
    {kHvStatusSuccess, "HV_STATUS_SUCCESS", PVOPS_OK},
    {kHvStatusInvalidHypercallCode, "HV_STATUS_INVALID_HYPERCALL_CODE", PVOPS_ERR_UNSUPPORTED},
    {kHvStatusInvalidHypercallInput, "HV_STATUS_INVALID_HYPERCALL_INPUT", PVOPS_ERR_INVALID},
    {kHvStatusInvalidAlignment, "HV_STATUS_INVALID_ALIGNMENT", PVOPS_ERR_INVALID},
    {kHvStatusInvalidParameter, "HV_STATUS_INVALID_PARAMETER", PVOPS_ERR_INVALID},
    {kHvStatusAccessDenied, "HV_STATUS_ACCESS_DENIED", PVOPS_ERR_DENIED},
    {kHvStatusInvalidPartitionState, "HV_STATUS_INVALID_PARTITION_STATE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusOperationDenied, "HV_STATUS_OPERATION_DENIED", PVOPS_ERR_DENIED},
    {kHvStatusUnknownProperty, "HV_STATUS_UNKNOWN_PROPERTY", PVOPS_ERR_INVALID},
    {kHvStatusPropertyValueOutOfRange, "HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE", PVOPS_ERR_INVALID},
    {kHvStatusInsufficientMemory, "HV_STATUS_INSUFFICIENT_MEMORY", PVOPS_ERR_NO_RESOURCE},
    {kHvStatusPartitionTooDeep, "HV_STATUS_PARTITION_TOO_DEEP", PVOPS_ERR_NO_RESOURCE},
    {kHvStatusInvalidPartitionId, "HV_STATUS_INVALID_PARTITION_ID", PVOPS_ERR_INVALID},
    {kHvStatusInvalidVpIndex, "HV_STATUS_INVALID_VP_INDEX", PVOPS_ERR_INVALID},
    {kHvStatusNotFound, "HV_STATUS_NOT_FOUND", PVOPS_ERR_INVALID},
    {kHvStatusInvalidPortId, "HV_STATUS_INVALID_PORT_ID", PVOPS_ERR_INVALID},
    {kHvStatusInvalidConnectionId, "HV_STATUS_INVALID_CONNECTION_ID", PVOPS_ERR_INVALID},
    {kHvStatusInsufficientBuffers, "HV_STATUS_INSUFFICIENT_BUFFERS", PVOPS_ERR_BUSY},
    {kHvStatusNotAcknowledged, "HV_STATUS_NOT_ACKNOWLEDGED", PVOPS_ERR_BUSY},
    {kHvStatusInvalidVpState, "HV_STATUS_INVALID_VP_STATE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusAcknowledged, "HV_STATUS_ACKNOWLEDGED", PVOPS_ERR_HYPERVISOR},
    {kHvStatusInvalidSaveRestoreState, "HV_STATUS_INVALID_SAVE_RESTORE_STATE",
     PVOPS_ERR_HYPERVISOR},
    {kHvStatusInvalidSynicState, "HV_STATUS_INVALID_SYNIC_STATE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusObjectInUse, "HV_STATUS_OBJECT_IN_USE", PVOPS_ERR_BUSY},
    {kHvStatusInvalidProximityDomainInfo, "HV_STATUS_INVALID_PROXIMITY_DOMAIN_INFO",
     PVOPS_ERR_INVALID},
    {kHvStatusNoData, "HV_STATUS_NO_DATA", PVOPS_ERR_HYPERVISOR},
    {kHvStatusInactive, "HV_STATUS_INACTIVE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusNoResources, "HV_STATUS_NO_RESOURCES", PVOPS_ERR_NO_RESOURCE},
    {kHvStatusFeatureUnavailable, "HV_STATUS_FEATURE_UNAVAILABLE", PVOPS_ERR_UNSUPPORTED},
    {kHvStatusPartialPacket, "HV_STATUS_PARTIAL_PACKET", PVOPS_ERR_HYPERVISOR},
    {kHvStatusProcessorFeatureNotSupported, "HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED",
     PVOPS_ERR_UNSUPPORTED},
    {kHvStatusProcessorCacheLineFlushSizeIncompatible,
     "HV_STATUS_PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE", PVOPS_ERR_UNSUPPORTED},
    {kHvStatusInsufficientBuffer, "HV_STATUS_INSUFFICIENT_BUFFER", PVOPS_ERR_NO_RESOURCE},
    {kHvStatusIncompatibleProcessor, "HV_STATUS_INCOMPATIBLE_PROCESSOR", PVOPS_ERR_UNSUPPORTED},
    {kHvStatusInsufficientDeviceDomains, "HV_STATUS_INSUFFICIENT_DEVICE_DOMAINS",
     PVOPS_ERR_NO_RESOURCE},
    {kHvStatusCpuidFeatureValidationError, "HV_STATUS_CPUID_FEATURE_VALIDATION_ERROR",
     PVOPS_ERR_HYPERVISOR},
    {kHvStatusCpuidXsaveFeatureValidationError, "HV_STATUS_CPUID_XSAVE_FEATURE_VALIDATION_ERROR",
     PVOPS_ERR_HYPERVISOR},
    {kHvStatusProcessorStartupTimeout, "HV_STATUS_PROCESSOR_STARTUP_TIMEOUT", PVOPS_ERR_TIMEOUT},
    {kHvStatusSmxEnabled, "HV_STATUS_SMX_ENABLED", PVOPS_ERR_UNSUPPORTED},
    {kHvStatusInvalidLpIndex, "HV_STATUS_INVALID_LP_INDEX", PVOPS_ERR_INVALID},
    {kHvStatusInvalidRegisterValue, "HV_STATUS_INVALID_REGISTER_VALUE", PVOPS_ERR_INVALID},
    {kHvStatusInvalidVtlState, "HV_STATUS_INVALID_VTL_STATE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusNxNotDetected, "HV_STATUS_NX_NOT_DETECTED", PVOPS_ERR_UNSUPPORTED},
    {kHvStatusInvalidDeviceId, "HV_STATUS_INVALID_DEVICE_ID", PVOPS_ERR_INVALID},
    {kHvStatusInvalidDeviceState, "HV_STATUS_INVALID_DEVICE_STATE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusPendingPageRequests, "HV_STATUS_PENDING_PAGE_REQUESTS", PVOPS_ERR_BUSY},
    {kHvStatusPageRequestInvalid, "HV_STATUS_PAGE_REQUEST_INVALID", PVOPS_ERR_INVALID},
    {kHvStatusKeyAlreadyExists, "HV_STATUS_KEY_ALREADY_EXISTS", PVOPS_ERR_INVALID},
    {kHvStatusDeviceAlreadyInDomain, "HV_STATUS_DEVICE_ALREADY_IN_DOMAIN", PVOPS_ERR_INVALID},
    {kHvStatusInvalidCpuGroupId, "HV_STATUS_INVALID_CPU_GROUP_ID", PVOPS_ERR_INVALID},
    {kHvStatusInvalidCpuGroupState, "HV_STATUS_INVALID_CPU_GROUP_STATE", PVOPS_ERR_HYPERVISOR},
    {kHvStatusOperationFailed, "HV_STATUS_OPERATION_FAILED", PVOPS_ERR_HYPERVISOR},
    {kHvStatusNotAllowedWithNestedVirtActive, "HV_STATUS_NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE",
     PVOPS_ERR_DENIED},
    {kHvStatusInsufficientRootMemory, "HV_STATUS_INSUFFICIENT_ROOT_MEMORY", PVOPS_ERR_NO_RESOURCE},
    {kHvStatusEventBufferAlreadyFreed, "HV_STATUS_EVENT_BUFFER_ALREADY_FREED", PVOPS_ERR_INVALID},
    {kHvStatusTimeOut, "HV_STATUS_TIME_OUT", PVOPS_ERR_TIMEOUT},
    {kHvStatusCallPending, "HV_STATUS_CALL_PENDING", PVOPS_ERR_BUSY},
    {kHvStatusVtlAlreadyEnabled, "HV_STATUS_VTL_ALREADY_ENABLED", PVOPS_ERR_INVALID},
};

const StatusInfo* Find(uint16_t code) {
  for (const StatusInfo& s : kStatuses)
    if (s.code == code) return &s;
  return nullptr;
}

}  // namespace

const StatusInfo* KnownStatuses(size_t* count) {
  *count = sizeof(kStatuses) / sizeof(kStatuses[0]);
  return kStatuses;
}

[[nodiscard]] pvops_status ToPvopsStatus(uint16_t hv_status) {
  const StatusInfo* s = Find(hv_status);
  return s != nullptr ? s->status : PVOPS_ERR_HYPERVISOR;
}

const char* StatusName(uint16_t hv_status) {
  const StatusInfo* s = Find(hv_status);
  return s != nullptr ? s->name : "HV_STATUS_UNKNOWN";
}

}  // namespace pvops::hyperv
