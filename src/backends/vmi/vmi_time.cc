// SPDX-License-Identifier: MIT
// The clock: TSC ticks (the ROM's RDTSC when it offers one) scaled by a known rate, never going
// back across CPUs. The rate is the hypervisor's when it told one, else the native measurement.
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"
#include "core/tsc_clock.h"

namespace pvops::vmi {
namespace {

core::TscScale g_scale;
core::MonotonicClamp g_monotonic;

uint64_t ReadTsc() { return Provides(VMI_CALL_RDTSC) ? CallRom(VMI_CALL_RDTSC) : arch::rdtsc(); }

}  // namespace

void SetUpClock(uint64_t tsc_khz) {
  g_scale = core::TscScale::ForKhz(tsc_khz);
  g_monotonic.Reset();
}

uint64_t TscKhz() { return g_scale.khz; }

// VMware keeps every vCPU's TSC in step (Linux's own VMware code marks it reliable for that
// reason), and VMI never paravirtualized user space: a user-mode rdtsc reads the same TSC the
// ROM's RDTSC does. So user space may keep this clock by itself, less only the clamp.
[[nodiscard]] pvops_status UserClock(pvops_user_clock* out) {
  if (g_scale.khz == 0) return PVOPS_ERR_UNSUPPORTED;
  out->kind = PVOPS_USER_CLOCK_TSC;
  out->stable = 1;
  out->page = nullptr;
  out->page_phys = 0;
  return PVOPS_OK;
}

uint64_t ClockNs() {
  core::Count(core::Counter::kClockReads);
  return g_monotonic.Clamp(g_scale.ToNs(ReadTsc()));
}

}  // namespace pvops::vmi
