/* SPDX-License-Identifier: MIT */
// Time on Hyper-V: the partition reference time (100 ns units), read without an exit from the
// reference TSC page, or from HV_X64_MSR_TIME_REF_COUNT when the page says "do not use me"
// (sequence 0) or keeps changing under us. Without a page, the TSC at the frequency
// HV_X64_MSR_TSC_FREQUENCY states. The TSC frequency comes from that MSR when granted.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "arch/x86/arch.h"
#include "backends/hyperv/hv_tlfs.h"
#include "core/reason.h"
#include "core/runtime.h"

namespace pvops::hyperv {

// Sequence changes tolerated in one read before the MSR is asked instead.
inline constexpr uint32_t kMaxTscPageRetries = 64;

// Which clock the backend installs.
enum class HvClock {
  kTscPage,    // ClockNs: the reference TSC page, TIME_REF_COUNT when it says sequence 0
  kStatedTsc,  // StatedTscClockNs: the TSC at the frequency HV_X64_MSR_TSC_FREQUENCY states
  kNative,     // neither: the native clock and its calibration
};

// The page when granted and sane, else the stated TSC, else native; the reason for anything but
// the page goes to `why`. Never TIME_REF_COUNT alone, which exits on every read.
HvClock EnableClock(core::Reason* why);

// The TLFS read protocol over any source of the page's fields (sequence(), scale(),
// offset()): the page itself, or in tests one whose sequence changes under the reader.
// False (time untouched) when the page says "invalid" or kept changing.
template <typename Source>
bool ReadReferenceTsc(Source& page, uint64_t* time_100ns) {
  for (uint32_t attempt = 0; attempt <= kMaxTscPageRetries; ++attempt) {
    const uint32_t sequence = page.sequence();
    if (sequence == kTscPageInvalidSequence) return false;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    const uint64_t scale = page.scale();
    const int64_t offset = page.offset();
    const uint64_t tsc = arch::rdtsc();
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    if (page.sequence() == sequence) {
      if (scale == 0) return false;  // every tick would scale to nothing: a broken page
      *time_100ns = static_cast<uint64_t>((static_cast<unsigned __int128>(tsc) * scale) >> 64) +
                    static_cast<uint64_t>(offset);
      return true;
    }
    core::Count(core::Counter::kClockRetries);
  }
  return false;
}

// The page in memory as a source for ReadReferenceTsc.
class TscPageSource {
 public:
  explicit TscPageSource(const volatile ReferenceTscPage* page) : page_(page) {}
  uint32_t sequence() const { return page_->sequence; }
  uint64_t scale() const { return page_->scale; }
  int64_t offset() const { return page_->offset; }

 private:
  const volatile ReferenceTscPage* page_;
};

// Reference time in 100 ns units, TSC page first, MSR otherwise (counted per source).
uint64_t ReferenceTime();

// The table's ops.
uint64_t ClockNs();
uint64_t StatedTscClockNs();
uint64_t TscKhz();

// The page the hypervisor fills (for tests).
volatile ReferenceTscPage* TscPage();

// Host tests: forget the clock's state.
void ForgetClock();

}  // namespace pvops::hyperv
