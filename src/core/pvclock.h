// The paravirtual clock that KVM (kvmclock) and Xen (vcpu_time_info) share: the hypervisor
// publishes a (tsc_timestamp, system_time, mul, shift) tuple per vCPU under a version seqlock,
// and the guest extrapolates from the TSC without an exit.
#pragma once

#include <stdint.h>

#include "core/xen_public.h"

namespace pvops::core {

// Nanoseconds of system time. Retries while an update is in progress; counts retries.
uint64_t PvclockRead(const volatile vcpu_time_info* ti);

// A tuple the hypervisor has filled: an even, non-zero version (0: it never wrote it) and a
// usable multiplier and shift.
bool PvclockTupleLooksFilled(const volatile vcpu_time_info& t);

// The TSC frequency the tuple implies, in kHz; 0 when the tuple is unusable (mul == 0).
uint64_t PvclockTscKhz(const volatile vcpu_time_info* ti);

// Scales a TSC delta as the tuple says (shift, then a 32.32 fixed-point multiply).
uint64_t PvclockScale(uint64_t tsc_delta, uint32_t mul, int8_t shift);

}  // namespace pvops::core
