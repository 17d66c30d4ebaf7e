#include "core/pvclock.h"

#include "arch/x86/arch.h"
#include "core/runtime.h"
#include "core/tsc_clock.h"

namespace pvops::core {
namespace {

// Without TSC_STABLE, per-vCPU tuples may disagree by a little: clamp to the largest value any
// CPU has returned so time never runs backwards across CPUs (Linux does the same).
MonotonicClamp g_monotonic;

}  // namespace

uint64_t PvclockScale(uint64_t tsc_delta, uint32_t mul, int8_t shift) {
  if (shift < 0)
    tsc_delta >>= -shift;
  else
    tsc_delta <<= shift;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(tsc_delta) * mul) >> 32);
}

uint64_t PvclockRead(const volatile vcpu_time_info* ti) {
  uint32_t version;
  uint64_t ns;
  uint8_t flags;
  for (;;) {
    version = ti->version;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    // rdtsc is not ordered by itself; the compiler barrier plus x86's load ordering keep the
    // tuple reads inside the version window.
    const uint64_t tsc = arch::rdtsc();
    // The ticks since the stamp, modulo 2^64 as Linux's pvclock takes them: tsc_timestamp is a
    // point on this vCPU's TSC, and it may lie before that TSC's zero. Xen does that for an HVM
    // or PVH guest whose TSC it emulates (no reliable host TSC): it stamps the tuple with the
    // guest TSC of its last calibration, which can predate the vCPU's TSC reset, so the stamp
    // wraps to a huge value (seen: -1110119799 ticks). Compared as unsigned the TSC looked
    // behind it and the clock stood at system_time until Xen re-stamped the tuple (seen 1.2 s
    // behind Xen's, which then fired timers "early"). Only a TSC truly behind the stamp (a small
    // negative difference) reads as the stamp itself.
    const int64_t delta = static_cast<int64_t>(tsc - ti->tsc_timestamp);
    ns = ti->system_time + PvclockScale(delta > 0 ? static_cast<uint64_t>(delta) : 0,
                                        ti->tsc_to_system_mul, ti->tsc_shift);
    flags = ti->flags;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    if ((version & 1) == 0 && version == ti->version) break;
    Count(Counter::kClockRetries);
  }
  if ((flags & XEN_PVCLOCK_TSC_STABLE_BIT) != 0) return ns;
  return g_monotonic.Clamp(ns);
}

bool PvclockTupleLooksFilled(const volatile vcpu_time_info& t) {
  return t.version != 0 && (t.version & 1) == 0 && t.tsc_to_system_mul != 0 &&
         t.tsc_shift >= -32 && t.tsc_shift <= 32;
}

uint64_t PvclockTscKhz(const volatile vcpu_time_info* ti) {
  const uint32_t mul = ti->tsc_to_system_mul;
  if (mul == 0) return 0;
  // Invert the scaling: khz = (10^6 << 32) / mul, then undo the shift.
  uint64_t khz = (uint64_t{1000000} << 32) / mul;
  const int8_t shift = ti->tsc_shift;
  if (shift < 0)
    khz <<= -shift;
  else
    khz >>= shift;
  return khz;
}

}  // namespace pvops::core
