// SPDX-License-Identifier: MIT
// Spinlock waits as the hypervisor recommends: spin the hinted number of times (CPUID leaf 4
// EBX), then tell it with HvCallNotifyLongSpinWait, so it can run the vCPU that holds the
// lock. The caller re-checks the lock after we return.
#include "arch/x86/arch.h"
#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hyperv.h"
#include "core/runtime.h"

namespace pvops::hyperv {

void LockWait(const volatile uint8_t* ptr, uint8_t value) {
  core::Count(core::Counter::kLockWaits);
  const uint32_t spins = g_state.spin_wait_count;
  for (uint32_t i = 0; i < spins; ++i) {
    if (*ptr != value) return;
    arch::pause();
  }
  if (*ptr != value || !Enabled(kPathLongSpinWait)) return;
  const CallOutcome notified = FastCall(kCallNotifyLongSpinWait, spins, 0);
  kCounters.Count(Counter::kSpinWaitNotifies);
  DisablePathIfRefused(notified.status, kPathLongSpinWait);
}

}  // namespace pvops::hyperv
