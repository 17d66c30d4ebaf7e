// SPDX-License-Identifier: MIT
// Hyper-V's hypercall results as the backend interprets them, on a partition booted against the
// host tests' simulated Hyper-V: after the boot, every call's result value comes from the input
// (a status the TLFS names or any 16 bits; reps completed as asked, fewer, none, more than
// asked, or any 12 bits; the reserved bits set or not). The raw op, with any control word, and
// the ops built on rep and slow calls (the remote TLB flush, cluster IPIs, the long spin wait)
// must each return after a bounded number of calls, and succeed only when the answers did.
#include <stddef.h>
#include <stdint.h>

#include <algorithm>

#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hv_status.h"
#include "fuzz_machine.h"
#include "hv_machine.h"

namespace {

using namespace pvops::hyperv;

constexpr uint32_t kCpus = 2;
alignas(4096) uint64_t g_input[512];

class HypercallFuzz : public pvops::fuzz::FixtureMachine<pvops::test::HyperVMachineTest> {
 public:
  void Run(FuzzedDataProvider& in) {
    using namespace pvops;
    if (BootHyperV() != PVOPS_OK || pvops_get_info()->backend != PVOPS_BACKEND_HYPERV)
      __builtin_trap();
    for (uint32_t cpu = 1; cpu < kCpus; ++cpu)
      if (OnlineCpu(cpu) != PVOPS_OK) __builtin_trap();
    answer_ = [this, &in](const test::HvCall& call) { return Answer(in, call); };
    for (int op = in.ConsumeIntegralInRange(1, 8); op > 0 && in.remaining_bytes() > 0; --op) {
      calls_.clear();
      last_ = 0;
      switch (in.ConsumeIntegralInRange(0, 3)) {
        case 0: Raw(in); break;
        case 1: {
          pvops_cpuset cpus = Cpus(in);
          (void)pvops_flush_tlb_remote(&cpus, in.ConsumeIntegral<uint64_t>(),
                                       in.ConsumeIntegral<uint64_t>());
          // One slow call, or one rep call over at most an argument page of list entries.
          if (calls_.size() > ArgPages::kQwords) __builtin_trap();
          break;
        }
        case 2: {
          const pvops_cpuset cpus = Cpus(in);
          (void)pvops_send_ipi(&cpus, 0x40);
          if (calls_.size() > 1) __builtin_trap();  // the fast form: the targets fit 64 bits
          break;
        }
        case 3: {
          const volatile uint8_t lock = 1;
          pvops_lock_wait(&lock, 1);
          if (calls_.size() > 1) __builtin_trap();
          break;
        }
      }
    }
  }

 private:
  uint64_t Answer(FuzzedDataProvider& in, const pvops::test::HvCall& call) {
    size_t known_count = 0;
    const StatusInfo* known = KnownStatuses(&known_count);
    uint64_t status = 0;
    switch (in.ConsumeIntegralInRange(0, 2)) {
      case 0: status = kHvStatusSuccess; break;
      case 1: status = known[in.ConsumeIntegralInRange<size_t>(0, known_count - 1)].code; break;
      case 2: status = in.ConsumeIntegral<uint16_t>(); break;
    }
    uint64_t reps = 0;
    switch (in.ConsumeIntegralInRange(0, 4)) {
      case 0: reps = call.rep_count; break;
      case 1: reps = call.rep_start; break;
      case 2:
        reps = in.ConsumeIntegralInRange<uint64_t>(std::min(call.rep_start, call.rep_count),
                                                   std::max(call.rep_start, call.rep_count));
        break;
      case 3: reps = call.rep_count + in.ConsumeIntegralInRange<uint64_t>(1, 4095); break;
      case 4: reps = in.ConsumeIntegral<uint16_t>(); break;
    }
    const uint64_t reserved = in.ConsumeBool() ? in.ConsumeIntegral<uint64_t>() : 0;
    last_ = (reserved & ~(kResultStatusMask | kControlRepMax << kResultRepsShift)) | status |
            (reps & kControlRepMax) << kResultRepsShift;
    return last_;
  }

  pvops_cpuset Cpus(FuzzedDataProvider& in) {
    pvops_cpuset cpus;
    pvops_cpuset_clear(&cpus);
    for (uint32_t cpu = 0; cpu < kCpus; ++cpu)
      if (in.ConsumeBool()) pvops_cpuset_add(&cpus, cpu);
    return cpus;
  }

  // The table's raw op with the input's control word: rep calls are re-issued while they make
  // progress, so at most one call per rep; a success needs the last answer's success, and for
  // a rep call every rep done.
  void Raw(FuzzedDataProvider& in) {
    const uint64_t control = in.ConsumeIntegral<uint64_t>();
    // A slow call's input is a GPA the kernel names: a page of its own (the simulated machine
    // maps host memory 1:1), or none. A fast call's is any register value.
    const uint64_t input = (control & kControlFast) != 0 ? in.ConsumeIntegral<uint64_t>()
                           : in.ConsumeBool()            ? reinterpret_cast<uintptr_t>(g_input)
                                                         : 0;
    int64_t result = 0;
    const pvops_status st =
        pvops_hypercall(control, input, in.ConsumeIntegral<uint64_t>(), 0, 0, 0, &result);
    const uint32_t reps = ControlRepCount(control);
    if (calls_.size() > (reps != 0 ? reps : 1)) __builtin_trap();
    if (st != PVOPS_OK) return;
    if (calls_.empty() || ResultStatus(last_) != kHvStatusSuccess) __builtin_trap();
    if (reps != 0 && ResultReps(last_) != reps) __builtin_trap();
    if (static_cast<uint64_t>(result) != last_) __builtin_trap();
  }

  uint64_t last_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pvops::fuzz::RunOnFreshMachine<HypercallFuzz>(data, size);
}
