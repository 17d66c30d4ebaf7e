// SPDX-License-Identifier: MIT
#include "core/pvclock.h"

#include "arch/x86/arch.h"
#include "core/runtime.h"
#include "core/tsc_clock.h"

namespace pvops::core {
namespace {

// Without TSC_STABLE, per-vCPU tuples may disagree by a little: clamp to the largest value any
// CPU has returned so time never runs backwards across CPUs (Linux does the same).
MonotonicClamp g_monotonic;

constexpr uint64_t kNsPerSec = 1'000'000'000;

}  // namespace

uint64_t PvclockScale(uint64_t tsc_delta, uint32_t mul, int8_t shift) {
  // The hypervisor may rewrite the shift after the tuple was checked: the count modulo 64, as
  // x86's shift instructions take it (the same code), never a shift C++ leaves undefined.
  if (shift < 0)
    tsc_delta >>= (-shift) & 63;
  else
    tsc_delta <<= shift & 63;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(tsc_delta) * mul) >> 32);
}

uint64_t PvclockRead(const volatile vcpu_time_info* ti) {
  uint64_t ns = 0;
  uint8_t flags = 0;
  uint32_t reads = 0;
  const bool settled = ReadVersioned(ti->version, 1, [&] {
    ++reads;
    // The ticks since the stamp modulo 2^64, as Xen's formula and Linux take them: the stamp may
    // lie before this TSC's zero (envs/xen-pvh/README.md, "Stable under load"). Only a TSC truly
    // behind the stamp, a small negative difference, reads as the stamp itself.
    const int64_t delta = static_cast<int64_t>(arch::rdtsc() - ti->tsc_timestamp);
    ns = ti->system_time + PvclockScale(delta > 0 ? static_cast<uint64_t>(delta) : 0,
                                        ti->tsc_to_system_mul, ti->tsc_shift);
    flags = ti->flags;
  });
  if (reads > 1) Count(Counter::kClockRetries, reads - 1);
  if (settled && (flags & XEN_PVCLOCK_TSC_STABLE_BIT) != 0) return ns;
  return g_monotonic.Clamp(ns);
}

bool PvclockTupleLooksFilled(const volatile vcpu_time_info& t) {
  return t.version != 0 && (t.version & 1) == 0 && t.tsc_to_system_mul != 0 && t.tsc_shift >= -32 &&
         t.tsc_shift <= 32;
}

bool PvclockTupleUsable(const volatile vcpu_time_info& t) {
  return PvclockTupleLooksFilled(t) && SaneTscKhz(PvclockTscKhz(&t));
}

[[nodiscard]] pvops_status PvclockWallClock(bool settled, uint32_t version, uint64_t sec,
                                            uint32_t nsec, uint64_t system_ns,
                                            pvops_wall_clock* out) {
  if (!settled) return PVOPS_ERR_BUSY;
  if (version == 0 || nsec >= kNsPerSec) return PVOPS_ERR_BAD_DATA;
  const uint64_t total_ns = uint64_t{nsec} + system_ns;
  out->sec = sec + total_ns / kNsPerSec;
  out->nsec = static_cast<uint32_t>(total_ns % kNsPerSec);
  out->reserved = 0;
  return PVOPS_OK;
}

uint64_t PvclockTscKhz(const volatile vcpu_time_info* ti) {
  const uint32_t mul = ti->tsc_to_system_mul;
  if (mul == 0) return 0;
  // Invert the scaling: khz = (10^6 << 32) / mul, then undo the shift.
  uint64_t khz = (uint64_t{1000000} << 32) / mul;
  const int8_t shift = ti->tsc_shift;  // modulo 64, as in PvclockScale
  if (shift < 0)
    khz <<= (-shift) & 63;
  else
    khz >>= shift & 63;
  return khz;
}

}  // namespace pvops::core
