// SPDX-License-Identifier: MIT
// The clock reads from pages the hypervisor writes: a pvclock tuple (KVM's kvmclock, Xen's
// vcpu_time_info) and Hyper-V's reference TSC page, with any field values (versions and
// sequences 0, 0xFFFFFFFF and odd, shifts and scales that overflow) and pages that change
// between the reader's loads (torn reads). Every read returns (bounded retries); a pvclock
// tuple without TSC_STABLE never reads back in time.
#include <stddef.h>
#include <stdint.h>

#include "backends/hyperv/hv_clock.h"
#include "core/pvclock.h"
#include "fuzz_machine.h"

namespace {

// A version or sequence word: the values with a meaning (0: never written or "use the MSR",
// all ones, odd: an update in progress) as often as any other.
uint32_t VersionWord(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0: return 0;
    case 1: return 0xffffffffu;
    case 2: return 1;
    case 3: return 2;
    default: return in.ConsumeIntegral<uint32_t>();
  }
}

// A scale at its edges (0, 1, all ones: the product overflows 64 bits) or any other.
uint64_t Scale(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return ~uint64_t{0};
    default: return in.ConsumeIntegral<uint64_t>();
  }
}

// A reference TSC page whose fields the input rewrites between the reader's loads.
class ChangingPage {
 public:
  explicit ChangingPage(FuzzedDataProvider& in) : in_(in) {}
  uint32_t sequence() { return VersionWord(in_); }
  uint64_t scale() { return Scale(in_); }
  int64_t offset() { return in_.ConsumeIntegral<int64_t>(); }

 private:
  FuzzedDataProvider& in_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pvops;
  FuzzedDataProvider in(data, size);
  fuzz::Machine m;
  m.sim.SetTsc(in.ConsumeIntegral<uint64_t>());
  m.sim.SetTicksPerInstruction(in.ConsumeIntegralInRange<uint64_t>(0, 1 << 20));

  vcpu_time_info tuple{};
  tuple.version = VersionWord(in);
  tuple.tsc_timestamp = in.ConsumeIntegral<uint64_t>();
  tuple.system_time = in.ConsumeIntegral<uint64_t>();
  tuple.tsc_to_system_mul = static_cast<uint32_t>(Scale(in));
  tuple.tsc_shift = in.ConsumeIntegral<int8_t>();
  tuple.flags = in.ConsumeIntegral<uint8_t>();
  // Inside a read (the reader's rdtsc sits between its two version loads): the hypervisor
  // rewrites the tuple, a torn read.
  m.sim.OnRdtsc([&] {
    if (!in.ConsumeBool()) return;
    tuple.version = VersionWord(in);
    if (in.ConsumeBool()) tuple.system_time = in.ConsumeIntegral<uint64_t>();
    if (in.ConsumeBool()) tuple.tsc_to_system_mul = static_cast<uint32_t>(Scale(in));
  });
  (void)core::PvclockTupleLooksFilled(tuple);
  (void)core::PvclockTupleUsable(tuple);
  (void)core::PvclockTscKhz(&tuple);
  (void)core::PvclockScale(in.ConsumeIntegral<uint64_t>(), tuple.tsc_to_system_mul,
                           tuple.tsc_shift);
  // Reads while the TSC moves on, and while the hypervisor rewrites the tuple between reads.
  uint64_t last = core::PvclockRead(&tuple);
  for (int read = in.ConsumeIntegralInRange(0, 8); read > 0; --read) {
    if (in.ConsumeBool()) tuple.version = VersionWord(in);
    if (in.ConsumeBool()) tuple.system_time = in.ConsumeIntegral<uint64_t>();
    m.sim.AdvanceTsc(in.ConsumeIntegral<uint32_t>());
    const uint64_t now = core::PvclockRead(&tuple);
    // Without TSC_STABLE every reading is clamped to the last: it never goes back.
    if ((tuple.flags & XEN_PVCLOCK_TSC_STABLE_BIT) == 0 && now < last) __builtin_trap();
    last = now;
  }

  pvops_wall_clock wall{};
  (void)core::PvclockWallClock(in.ConsumeBool(), in.ConsumeIntegral<uint32_t>(),
                               in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegral<uint32_t>(),
                               in.ConsumeIntegral<uint64_t>(), &wall);

  ChangingPage page(in);
  uint64_t time_100ns = 0;
  (void)hyperv::ReadReferenceTsc(page, &time_100ns);
  return 0;
}
