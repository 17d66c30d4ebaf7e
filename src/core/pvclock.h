/* SPDX-License-Identifier: MIT */
// The paravirtual clock that KVM (kvmclock) and Xen (vcpu_time_info) share: the hypervisor
// publishes a (tsc_timestamp, system_time, mul, shift) tuple per vCPU under a version seqlock,
// and the guest extrapolates from the TSC without an exit.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "core/xen_public.h"

namespace pvops::core {

// The one bound of every versioned read: a hypervisor finishes an update within
// microseconds, so a record still busy after this many reads is one that will not settle.
inline constexpr uint32_t kVersionedReadTries = 1000;

// Copies a record the hypervisor rewrites under a version word (the pvclock tuple, KVM's and
// Xen's wall clock, Xen's runstate area): runs `read` between two reads of `version` until
// they agree and none of `busy_bits` is set (the pvclock's odd version, Xen's
// XEN_RUNSTATE_UPDATE). False after kVersionedReadTries; *seen is the copy's version.
//
// Compiler barriers are enough, as Linux's virt_rmb() is on x86: x86 keeps loads in program
// order and stores too (SDM vol. 3A 8.2.2), and the hypervisor writes the version, the fields,
// then the version again, so only the compiler must be kept from moving the reads.
template <typename Version, typename Read>
bool ReadVersioned(const volatile Version& version, uint64_t busy_bits, Read read,
                   Version* seen = nullptr) {
  for (uint32_t attempt = 0; attempt < kVersionedReadTries; ++attempt) {
    const Version before = version;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    read();
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    if ((before & busy_bits) == 0 && before == version) {
      if (seen != nullptr) *seen = before;
      return true;
    }
  }
  return false;
}

// Nanoseconds of system time. Retries while an update is in progress (counted); a tuple that
// never settles gives its last reading, clamped so the clock does not go back.
uint64_t PvclockRead(const volatile vcpu_time_info* ti);

// A tuple the hypervisor has filled: an even, non-zero version (0: it never wrote it) and a
// usable multiplier and shift.
bool PvclockTupleLooksFilled(const volatile vcpu_time_info& t);

// Filled, and implying a TSC rate inside core::SaneTscKhz: what a backend checks before it
// trusts the tuple as its clock.
bool PvclockTupleUsable(const volatile vcpu_time_info& t);

// The wall clock now, from a wall-clock record of system time zero (KVM's MSR_KVM_WALL_CLOCK
// record, Xen's shared_info) read with ReadVersioned (`settled`, its `version`) and the
// system time now. PVOPS_ERR_BUSY when the record never settled, PVOPS_ERR_BAD_DATA when it
// was never written (version 0) or is not a time.
[[nodiscard]] pvops_status PvclockWallClock(bool settled, uint32_t version, uint64_t sec,
                                            uint32_t nsec, uint64_t system_ns,
                                            pvops_wall_clock* out);

// The TSC frequency the tuple implies, in kHz; 0 when the tuple is unusable (mul == 0).
uint64_t PvclockTscKhz(const volatile vcpu_time_info* ti);

// Scales a TSC delta as the tuple says (shift, then a 32.32 fixed-point multiply).
uint64_t PvclockScale(uint64_t tsc_delta, uint32_t mul, int8_t shift);

}  // namespace pvops::core
