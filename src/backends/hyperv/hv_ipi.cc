// SPDX-License-Identifier: MIT
// IPIs by HvCallSendSyntheticClusterIpi: one exit for any number of targets. VP indexes below
// 64 fit the fast form (vector and mask in registers); higher ones need the Ex form and its
// sparse VP set in the input page.
#include "arch/x86/arch.h"
#include "backends/hyperv/hv_apic.h"
#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hv_vp_set.h"
#include "backends/hyperv/hyperv.h"
#include "core/runtime.h"
#include "hw/lapic.h"

namespace pvops::hyperv {
namespace {

constexpr uint8_t kFirstExternalVector = 32;

// SendIpiInputEx as qwords: vector (and reserved), format, valid banks, then the banks.
constexpr uint32_t kExVectorQword = 0;
constexpr uint32_t kExFormatQword = 1;
constexpr uint32_t kExValidBanksQword = 2;
constexpr uint32_t kExBanksQword = sizeof(SendIpiInputEx) / sizeof(uint64_t);
static_assert(kExBanksQword == 3);

[[nodiscard]] pvops_status SendWithoutHypercall(const pvops_cpuset* cpus, uint8_t vector) {
  return Enabled(kPathApicMsrs) ? SendIpiByIcrMsr(cpus, vector) : hw::LapicSendIpi(cpus, vector);
}

CallOutcome SendEx(const pvops_cpuset* cpus, uint8_t vector, const VpTargets& targets) {
  ArgPages args;
  uint64_t* in = args.input();
  in[kExVectorQword] = vector;
  in[kExFormatQword] = kVpSetFormatSparse4k;
  in[kExValidBanksQword] = targets.valid_banks;
  WriteVpBanks(cpus, PVOPS_MAX_CPUS, targets.valid_banks, in + kExBanksQword);
  return SlowCall(args, kCallSendSyntheticClusterIpiEx, targets.BankCount());
}

}  // namespace

[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector) {
  if (cpus == nullptr || vector < kFirstExternalVector) return PVOPS_ERR_INVALID;
  VpTargets targets;
  switch (GatherVps(cpus, PVOPS_MAX_CPUS, &targets)) {
    case GatherResult::kOffline: return PVOPS_ERR_INVALID;
    case GatherResult::kNoVpIndex: return SendWithoutHypercall(cpus, vector);
    case GatherResult::kOk: break;
  }
  if (targets.Empty()) return PVOPS_OK;

  // The Ex form needs what the plain one needs and more: a refused plain call rules out both.
  uint32_t refused_paths = kPathClusterIpi | kPathClusterIpiEx;
  CallOutcome sent{};
  // The target runs its handler as soon as the call lands: our stores go first.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (targets.FitsMask() && Enabled(kPathClusterIpi)) {
    sent = FastCall(kCallSendSyntheticClusterIpi, vector, VpMask(cpus, PVOPS_MAX_CPUS));
  } else if (Enabled(kPathClusterIpiEx)) {
    refused_paths = kPathClusterIpiEx;
    sent = SendEx(cpus, vector, targets);
  } else {
    return SendWithoutHypercall(cpus, vector);
  }
  core::Count(core::Counter::kIpiHypercalls);
  if (!sent.ok()) {
    // Nothing was delivered (KVM checks the whole input before it sends): send it natively.
    DisablePathIfRefused(sent.status, refused_paths);
    return SendWithoutHypercall(cpus, vector);
  }
  core::Count(core::Counter::kIpisSent, targets.count);
  return PVOPS_OK;
}

}  // namespace pvops::hyperv
