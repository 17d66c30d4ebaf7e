/* SPDX-License-Identifier: MIT */
// Hyper-V guest interface constants, named after the Hypervisor Top Level Functional
// Specification (TLFS). No Debian package ships these for guests, so they live here, once.
// Bit positions were checked against Linux's arch/x86/include/asm/hyperv-tlfs.h and
// include/asm-generic/hyperv-tlfs.h, and KVM's arch/x86/kvm/hyperv.c (6.12).
#pragma once

#include <stdint.h>

#include "arch/x86/registers.h"

namespace pvops::hyperv {

// ---- CPUID leaves, relative to the base where the interface was found ---------------------
inline constexpr uint32_t kLeafInterface = 1;          // EAX = interface signature
inline constexpr uint32_t kLeafVersion = 2;            // EAX build, EBX major << 16 | minor
inline constexpr uint32_t kLeafFeatures = 3;           // EAX/EBX privileges, EDX features
inline constexpr uint32_t kLeafHints = 4;              // EAX recommendations, EBX spin-wait count
inline constexpr uint32_t kLeafLimits = 5;             // EAX max VPs, EBX max LPs
inline constexpr uint32_t kInterfaceHv1 = 0x31237648;  // "Hv#1"

// Leaf 3 EAX: the partition's privileges over synthetic MSRs (HV_PARTITION_PRIVILEGE_MASK).
inline constexpr uint32_t kPrivVpRuntime = 1u << 0;
inline constexpr uint32_t kPrivTimeRefCount = 1u << 1;  // HV_X64_MSR_TIME_REF_COUNT
inline constexpr uint32_t kPrivSynic = 1u << 2;
inline constexpr uint32_t kPrivSyntheticTimers = 1u << 3;
inline constexpr uint32_t kPrivApicMsrs = 1u << 4;       // EOI, ICR, TPR, VP assist page
inline constexpr uint32_t kPrivHypercallMsrs = 1u << 5;  // GUEST_OS_ID and HYPERCALL
inline constexpr uint32_t kPrivVpIndex = 1u << 6;
inline constexpr uint32_t kPrivReset = 1u << 7;
inline constexpr uint32_t kPrivReferenceTsc = 1u << 9;
inline constexpr uint32_t kPrivFrequencyMsrs = 1u << 11;  // TSC_FREQUENCY, APIC_FREQUENCY

// Leaf 3 EDX: features.
inline constexpr uint32_t kFeatXmmHypercallInput = 1u << 4;
inline constexpr uint32_t kFeatFrequencyRegs = 1u << 8;
inline constexpr uint32_t kFeatDirectSyntheticTimers = 1u << 19;

// Leaf 4 EAX: what the hypervisor recommends the guest to do.
inline constexpr uint32_t kHintRemoteTlbFlush = 1u << 2;
inline constexpr uint32_t kHintApicAccessMsrs = 1u << 3;
inline constexpr uint32_t kHintRelaxedTiming = 1u << 5;
inline constexpr uint32_t kHintClusterIpi = 1u << 10;
inline constexpr uint32_t kHintExProcessorMasks = 1u << 11;
// Leaf 4 EBX: spin attempts before HvCallNotifyLongSpinWait; this value means never notify.
inline constexpr uint32_t kSpinWaitNeverNotify = 0xffffffff;

// ---- Synthetic MSRs -----------------------------------------------------------------------
inline constexpr uint32_t kMsrGuestOsId = 0x40000000;
inline constexpr uint32_t kMsrHypercall = 0x40000001;
inline constexpr uint32_t kMsrVpIndex = 0x40000002;
inline constexpr uint32_t kMsrTimeRefCount = 0x40000020;
inline constexpr uint32_t kMsrReferenceTsc = 0x40000021;
inline constexpr uint32_t kMsrTscFrequency = 0x40000022;
inline constexpr uint32_t kMsrApicFrequency = 0x40000023;
inline constexpr uint32_t kMsrEoi = 0x40000070;
inline constexpr uint32_t kMsrIcr = 0x40000071;
inline constexpr uint32_t kMsrTpr = 0x40000072;
inline constexpr uint32_t kMsrVpAssistPage = 0x40000073;
inline constexpr uint32_t kMsrStimer0Config = 0x400000b0;
inline constexpr uint32_t kMsrStimer0Count = 0x400000b1;

// HV_X64_MSR_HYPERCALL, HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_VP_ASSIST_PAGE: a page number in
// bits 63:12 and an enable bit. The hypercall MSR also has a read-only "locked" bit.
inline constexpr uint64_t kMsrPageEnable = 1u << 0;
inline constexpr uint64_t kMsrHypercallLocked = 1u << 1;
inline constexpr uint64_t kMsrPageAddressMask = ~(X86_PAGE_SIZE - 1);

// The guest OS ID, open-source encoding: bit 63 open source, 62:56 OS type, 55:48 OS id,
// 47:16 version, 15:0 build.
inline constexpr uint64_t kGuestIdOpenSource = uint64_t{1} << 63;
inline constexpr uint32_t kGuestOsTypeShift = 56;
inline constexpr uint32_t kGuestOsIdShift = 48;
inline constexpr uint32_t kGuestVersionShift = 16;
inline constexpr uint64_t kGuestOsTypeUndefined = 0x0;  // not Linux 1, FreeBSD 2, Xen 3, Illumos 4
inline constexpr uint64_t EncodeOpenSourceGuestId(uint64_t os_type, uint64_t os_id,
                                                  uint32_t version, uint16_t build) {
  return kGuestIdOpenSource | (os_type & 0x7f) << kGuestOsTypeShift |
         (os_id & 0xff) << kGuestOsIdShift | uint64_t{version} << kGuestVersionShift | build;
}

// Synthetic timer configuration (HV_X64_MSR_STIMERn_CONFIG).
inline constexpr uint64_t kStimerEnable = 1u << 0;
inline constexpr uint64_t kStimerPeriodic = 1u << 1;
inline constexpr uint64_t kStimerAutoEnable = 1u << 3;
inline constexpr uint32_t kStimerVectorShift = 4;  // bits 11:4, direct mode only
inline constexpr uint64_t kStimerDirectMode = 1u << 12;

// The VP assist page starts with the APIC assist word: bit 0 set means the hypervisor will
// complete the EOI itself (clearing it is the whole EOI).
inline constexpr uint32_t kApicAssistNoEoiRequired = 1u << 0;

// ---- Reference time -----------------------------------------------------------------------
// The reference counter and the TSC page count 100 ns units.
inline constexpr uint64_t kReferenceTimeUnitNs = 100;

// The reference TSC page: time = ((tsc * scale) >> 64) + offset, valid while the sequence is
// unchanged; sequence 0 means "do not use the page, read TIME_REF_COUNT".
struct ReferenceTscPage {
  uint32_t sequence;
  uint32_t reserved1;
  uint64_t scale;
  int64_t offset;
};
static_assert(sizeof(ReferenceTscPage) == 24);
inline constexpr uint32_t kTscPageInvalidSequence = 0;

// ---- Hypercalls -----------------------------------------------------------------------------
// Call codes.
inline constexpr uint16_t kCallReserved = 0x0000;  // never a valid call
inline constexpr uint16_t kCallFlushVirtualAddressSpace = 0x0002;
inline constexpr uint16_t kCallFlushVirtualAddressList = 0x0003;
inline constexpr uint16_t kCallNotifyLongSpinWait = 0x0008;
inline constexpr uint16_t kCallSendSyntheticClusterIpi = 0x000b;
inline constexpr uint16_t kCallFlushVirtualAddressSpaceEx = 0x0013;
inline constexpr uint16_t kCallFlushVirtualAddressListEx = 0x0014;
inline constexpr uint16_t kCallSendSyntheticClusterIpiEx = 0x0015;

// The hypercall input value (rcx): code 15:0, fast 16, variable header size 26:17 (in 8-byte
// units), rep count 43:32, rep start index 59:48; the rest is reserved and must be zero.
inline constexpr uint64_t kControlFast = uint64_t{1} << 16;
inline constexpr uint32_t kControlVarHeaderShift = 17;
inline constexpr uint64_t kControlVarHeaderMax = 0x3ff;
inline constexpr uint32_t kControlRepCountShift = 32;
inline constexpr uint32_t kControlRepStartShift = 48;
inline constexpr uint64_t kControlRepMax = 0xfff;
// The result value (rax): status 15:0, reps completed 43:32.
inline constexpr uint64_t kResultStatusMask = 0xffff;
inline constexpr uint32_t kResultRepsShift = 32;

// Flush flags (HvCallFlushVirtualAddress*).
inline constexpr uint64_t kFlushAllProcessors = 1u << 0;
inline constexpr uint64_t kFlushAllVirtualAddressSpaces = 1u << 1;
inline constexpr uint64_t kFlushNonGlobalMappingsOnly = 1u << 2;
// A flush-list entry: a page address whose low 12 bits count additional pages after it.
inline constexpr uint64_t kFlushListMaxAdditionalPages = 0xfff;

// A processor set of the Ex calls (HV_VP_SET): 64 VPs per bank, only non-empty banks sent.
inline constexpr uint64_t kVpSetFormatSparse4k = 0;
inline constexpr uint64_t kVpSetFormatAll = 1;
inline constexpr uint32_t kVpsPerBank = 64;
inline constexpr uint32_t kMaxVpBanks = 64;  // valid_bank_mask has 64 bits
inline constexpr uint32_t kMaxVpIndex = kVpsPerBank * kMaxVpBanks - 1;

// Cluster IPIs take vectors 0x10..0xff.
inline constexpr uint32_t kIpiLowestVector = 0x10;

// Fixed headers of the slow calls this library issues (TLFS section "Virtual MMU" and
// "Virtual Interrupt Control"); the variable parts follow in 8-byte units.
struct FlushInput {  // HvCallFlushVirtualAddressSpace / List
  uint64_t address_space;
  uint64_t flags;
  uint64_t processor_mask;
  // uint64_t gva_list[rep count] for the List form
};
struct FlushInputEx {  // HvCallFlushVirtualAddressSpaceEx / ListEx
  uint64_t address_space;
  uint64_t flags;
  uint64_t vp_set_format;
  uint64_t vp_set_valid_banks;
  // uint64_t bank_contents[variable header], then gva_list[rep count]
};
struct SendIpiInputEx {  // HvCallSendSyntheticClusterIpiEx
  uint32_t vector;
  uint32_t reserved;
  uint64_t vp_set_format;
  uint64_t vp_set_valid_banks;
  // uint64_t bank_contents[variable header]
};
static_assert(sizeof(FlushInput) == 24 && sizeof(FlushInputEx) == 32 &&
              sizeof(SendIpiInputEx) == 24);

// ---- Hypercall status codes (TLFS appendix "Hypercall status codes") ---------------------
enum HvStatus : uint16_t {
  kHvStatusSuccess = 0x0000,
  kHvStatusInvalidHypercallCode = 0x0002,
  kHvStatusInvalidHypercallInput = 0x0003,
  kHvStatusInvalidAlignment = 0x0004,
  kHvStatusInvalidParameter = 0x0005,
  kHvStatusAccessDenied = 0x0006,
  kHvStatusInvalidPartitionState = 0x0007,
  kHvStatusOperationDenied = 0x0008,
  kHvStatusUnknownProperty = 0x0009,
  kHvStatusPropertyValueOutOfRange = 0x000a,
  kHvStatusInsufficientMemory = 0x000b,
  kHvStatusPartitionTooDeep = 0x000c,
  kHvStatusInvalidPartitionId = 0x000d,
  kHvStatusInvalidVpIndex = 0x000e,
  kHvStatusNotFound = 0x0010,
  kHvStatusInvalidPortId = 0x0011,
  kHvStatusInvalidConnectionId = 0x0012,
  kHvStatusInsufficientBuffers = 0x0013,
  kHvStatusNotAcknowledged = 0x0014,
  kHvStatusInvalidVpState = 0x0015,
  kHvStatusAcknowledged = 0x0016,
  kHvStatusInvalidSaveRestoreState = 0x0017,
  kHvStatusInvalidSynicState = 0x0018,
  kHvStatusObjectInUse = 0x0019,
  kHvStatusInvalidProximityDomainInfo = 0x001a,
  kHvStatusNoData = 0x001b,
  kHvStatusInactive = 0x001c,
  kHvStatusNoResources = 0x001d,
  kHvStatusFeatureUnavailable = 0x001e,
  kHvStatusPartialPacket = 0x001f,
  kHvStatusProcessorFeatureNotSupported = 0x0020,
  kHvStatusProcessorCacheLineFlushSizeIncompatible = 0x0030,
  kHvStatusInsufficientBuffer = 0x0033,
  kHvStatusIncompatibleProcessor = 0x0037,
  kHvStatusInsufficientDeviceDomains = 0x0038,
  kHvStatusCpuidFeatureValidationError = 0x003c,
  kHvStatusCpuidXsaveFeatureValidationError = 0x003d,
  kHvStatusProcessorStartupTimeout = 0x003e,
  kHvStatusSmxEnabled = 0x003f,
  kHvStatusInvalidLpIndex = 0x0041,
  kHvStatusInvalidRegisterValue = 0x0050,
  kHvStatusInvalidVtlState = 0x0051,
  kHvStatusNxNotDetected = 0x0055,
  kHvStatusInvalidDeviceId = 0x0057,
  kHvStatusInvalidDeviceState = 0x0058,
  kHvStatusPendingPageRequests = 0x0059,
  kHvStatusPageRequestInvalid = 0x0060,
  kHvStatusKeyAlreadyExists = 0x0065,
  kHvStatusDeviceAlreadyInDomain = 0x0066,
  kHvStatusInvalidCpuGroupId = 0x006f,
  kHvStatusInvalidCpuGroupState = 0x0070,
  kHvStatusOperationFailed = 0x0071,
  kHvStatusNotAllowedWithNestedVirtActive = 0x0072,
  kHvStatusInsufficientRootMemory = 0x0073,
  kHvStatusEventBufferAlreadyFreed = 0x0074,
  kHvStatusTimeOut = 0x0078,
  kHvStatusCallPending = 0x0079,
  kHvStatusVtlAlreadyEnabled = 0x0086,
};

}  // namespace pvops::hyperv
