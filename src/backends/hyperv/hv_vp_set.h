/* SPDX-License-Identifier: MIT */
// Turning a set of the kernel's CPUs into the hypervisor's VP numbering: a 64-bit processor
// mask when every VP index is below 64, else the sparse banks of an HV_VP_SET (the Ex calls).
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::hyperv {

struct VpTargets {
  uint64_t valid_banks;  // bit b: some target has a VP index in 64*b .. 64*b+63
  uint32_t count;        // targets gathered
  bool Empty() const { return count == 0; }
  bool FitsMask() const { return (valid_banks & ~uint64_t{1}) == 0; }  // all below 64
  uint32_t BankCount() const { return static_cast<uint32_t>(__builtin_popcountll(valid_banks)); }
};

enum class GatherResult {
  kOk,
  kOffline,    // a CPU of the set is not online: the caller's error
  kNoVpIndex,  // a CPU has no usable VP index: the caller must take the native path
};

// Gathers the CPUs of `cpus` except `except` (pass PVOPS_MAX_CPUS to keep every one).
GatherResult GatherVps(const pvops_cpuset* cpus, uint32_t except, VpTargets* out);

// The processor mask of the gathered CPUs (FitsMask() must hold).
uint64_t VpMask(const pvops_cpuset* cpus, uint32_t except);

// Writes the BankCount() bank words, lowest bank first, for the same CPUs.
void WriteVpBanks(const pvops_cpuset* cpus, uint32_t except, uint64_t valid_banks, uint64_t* banks);

}  // namespace pvops::hyperv
