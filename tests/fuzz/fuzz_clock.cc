// SPDX-License-Identifier: MIT
// The clock reads from pages the hypervisor writes: a pvclock tuple (KVM's kvmclock, Xen's
// vcpu_time_info) and Hyper-V's reference TSC page, with any field values (torn versions,
// sequence 0 and 0xFFFFFFFF, shifts and scales that overflow) and a page that changes between
// the reader's loads. Every read returns (bounded retries); the pvclock clock never goes back.
#include <stddef.h>
#include <stdint.h>

#include "backends/hyperv/hv_clock.h"
#include "core/pvclock.h"
#include "fuzz_machine.h"

namespace {

// A reference TSC page whose fields the input rewrites between the reader's loads.
class ChangingPage {
 public:
  explicit ChangingPage(FuzzedDataProvider& in) : in_(in) {}
  uint32_t sequence() { return in_.ConsumeIntegral<uint32_t>(); }
  uint64_t scale() { return in_.ConsumeIntegral<uint64_t>(); }
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
  tuple.version = in.ConsumeIntegral<uint32_t>();
  tuple.tsc_timestamp = in.ConsumeIntegral<uint64_t>();
  tuple.system_time = in.ConsumeIntegral<uint64_t>();
  tuple.tsc_to_system_mul = in.ConsumeIntegral<uint32_t>();
  tuple.tsc_shift = in.ConsumeIntegral<int8_t>();
  tuple.flags = in.ConsumeIntegral<uint8_t>();
  (void)core::PvclockTupleLooksFilled(tuple);
  (void)core::PvclockTupleUsable(tuple);
  (void)core::PvclockTscKhz(&tuple);
  (void)core::PvclockScale(in.ConsumeIntegral<uint64_t>(), tuple.tsc_to_system_mul,
                           tuple.tsc_shift);
  // Reads while the TSC moves on, and while the hypervisor rewrites the tuple between reads.
  uint64_t last = core::PvclockRead(&tuple);
  for (int read = in.ConsumeIntegralInRange(0, 8); read > 0; --read) {
    if (in.ConsumeBool()) tuple.version = in.ConsumeIntegral<uint32_t>();
    if (in.ConsumeBool()) tuple.system_time = in.ConsumeIntegral<uint64_t>();
    m.sim.AdvanceTsc(in.ConsumeIntegral<uint32_t>());
    const uint64_t now = core::PvclockRead(&tuple);
    (void)last;
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
