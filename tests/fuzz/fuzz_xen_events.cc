// SPDX-License-Identifier: MIT
// Xen's shared_info as the Xen backend's event and clock code reads it, on a PV or an HVM guest
// booted against the host tests' simulated Xen: the 2-level event words (evtchn_pending,
// evtchn_mask), each vcpu_info (evtchn_upcall_pending, evtchn_upcall_mask, evtchn_pending_sel,
// the pvclock tuple inside it), the wall clock and the runstate area, any values written
// between the ops a kernel calls (the upcall, the interrupt flag, the clock, the timer, IPIs,
// the lock). Every op returns; PV's interrupt flag is the mask the guest last wrote.
#include <stddef.h>
#include <stdint.h>

#include "fake_xen.h"
#include "fuzz_machine.h"
namespace {

using pvops::fuzz::KeepOrFuzz;

constexpr uint32_t kXenBase = 0x40000000;
constexpr uint32_t kHypercallMsr = 0x40000000;
constexpr uint32_t kCpus = 2;
constexpr uint8_t kVectors[] = {0x40, 0x41, 0x42};

uint64_t g_handled;
void Count(uint8_t, void*) { ++g_handled; }

class EventsFuzz : public pvops::fuzz::FixtureMachine<pvops::test::XenPvTest> {
 public:
  void Run(FuzzedDataProvider& in) {
    using namespace pvops;
    hvm_ = in.ConsumeBool();
    if (hvm_ ? BootHvm() != PVOPS_OK : BootPv() != PVOPS_OK) __builtin_trap();
    if (pvops_get_info()->backend != PVOPS_BACKEND_XEN) __builtin_trap();
    for (const uint8_t vector : kVectors)
      if (pvops_register_handler(vector, Count, nullptr) != PVOPS_OK) __builtin_trap();
    for (uint32_t cpu = 1; cpu < kCpus; ++cpu)
      if (OnlineCpu(cpu) != PVOPS_OK) __builtin_trap();
    g_handled = 0;
    for (int step = in.ConsumeIntegralInRange(1, 24); step > 0 && in.remaining_bytes() > 0;
         --step) {
      const uint32_t cpu = in.ConsumeIntegralInRange<uint32_t>(0, kCpus - 1);
      switch (in.ConsumeIntegralInRange(0, 9)) {
        case 0: WriteEventWords(in); break;
        case 1: WriteVcpuInfo(in, Vcpu(cpu)); break;
        case 2: WriteTime(in, Vcpu(cpu).time); break;
        case 3: WriteWallClockAndRunstate(in, cpu); break;
        case 4: sim_.RunOnCpu(cpu, [&] { TakeUpcall(); }); break;
        case 5: sim_.RunOnCpu(cpu, [&] { InterruptFlag(in); }); break;
        case 6: sim_.RunOnCpu(cpu, [&] { ReadTime(cpu); }); break;
        case 7: sim_.RunOnCpu(cpu, [&] { Timer(in); }); break;
        case 8: {
          pvops_cpuset set;
          pvops_cpuset_clear(&set);
          pvops_cpuset_add(&set, in.ConsumeIntegralInRange<uint32_t>(0, kCpus - 1));
          const uint8_t vector = kVectors[in.ConsumeIntegralInRange<size_t>(0, 2)];
          sim_.RunOnCpu(cpu, [&] { (void)pvops_send_ipi(&set, vector); });
          break;
        }
        case 9: sim_.RunOnCpu(cpu, [&] { pvops_lock_kick(in.ConsumeIntegralInRange(0u, kCpus)); });
      }
    }
  }

 private:
  pvops_status BootHvm() {
    using namespace pvops;
    fill_page_ = false;  // vmcall/vmmcall: the simulated Xen takes either
    model_.hypervisor_bit = true;
    sim::LoadCpuModel(sim_, model_);
    sim_.SetHypervisorLeaf(kXenBase, kXenBase + 4, "XenVMMXenVMM");
    sim_.SetCpuid(kXenBase + 1, {test::kXenVersion, 0, 0, 0});
    sim_.SetCpuid(kXenBase + 2, {1, kHypercallMsr, 0, 0});
    sim_.SetCpuid(kXenBase + 4, {0, 0, 0, 0});  // no vCPU ids: CPU n is vCPU n
    features_ = 1u << XENFEAT_hvm_callback_vector;
    sim_.HandleMsrs(kHypercallMsr, kHypercallMsr, nullptr, [](uint32_t, uint64_t) { return true; });
    env_ = sim::MakeEnv(nullptr, PVOPS_ENTRY_PVH, nullptr);
    return pvops_init(&env_);
  }

  void WriteEventWords(FuzzedDataProvider& in) {
    shared_info& s = Shared();
    const size_t word = in.ConsumeIntegralInRange<size_t>(0, 63);
    KeepOrFuzz(in, s.evtchn_pending[word]);
    KeepOrFuzz(in, s.evtchn_mask[word]);
  }

  static void WriteVcpuInfo(FuzzedDataProvider& in, vcpu_info& v) {
    KeepOrFuzz(in, v.evtchn_upcall_pending);
    KeepOrFuzz(in, v.evtchn_upcall_mask);
    KeepOrFuzz(in, v.evtchn_pending_sel);
  }

  static void WriteTime(FuzzedDataProvider& in, vcpu_time_info& t) {
    KeepOrFuzz(in, t.version);
    KeepOrFuzz(in, t.tsc_timestamp);
    KeepOrFuzz(in, t.system_time);
    KeepOrFuzz(in, t.tsc_to_system_mul);
    KeepOrFuzz(in, t.tsc_shift);
    KeepOrFuzz(in, t.flags);
  }

  void WriteWallClockAndRunstate(FuzzedDataProvider& in, uint32_t cpu) {
    shared_info& s = Shared();
    KeepOrFuzz(in, s.wc_version);
    KeepOrFuzz(in, s.wc_sec);
    KeepOrFuzz(in, s.wc_nsec);
    KeepOrFuzz(in, s.wc_sec_hi);
    const auto area = runstate_areas_.find(cpu);
    if (area == runstate_areas_.end()) return;
    auto& r = *reinterpret_cast<vcpu_runstate_info*>(static_cast<uintptr_t>(area->second));
    KeepOrFuzz(in, r.state);
    KeepOrFuzz(in, r.state_entry_time);
    for (uint64_t& t : r.time) KeepOrFuzz(in, t);
  }

  // Xen's way in: the PV event callback, or the HVM callback vector.
  void TakeUpcall() {
    if (hvm_)
      pvops_handle_interrupt(PVOPS_XEN_HVM_CALLBACK_VECTOR);
    else
      pvops_xen_event_upcall();
  }

  void InterruptFlag(FuzzedDataProvider& in) {
    constexpr uint64_t kIf = 1u << 9;
    if (in.ConsumeBool()) {
      pvops_irq_disable();
      if (!hvm_ && (pvops_save_flags() & kIf) != 0) __builtin_trap();
    } else {
      pvops_irq_enable();
      if (!hvm_ && (pvops_save_flags() & kIf) == 0) __builtin_trap();
    }
  }

  void ReadTime(uint32_t cpu) {
    (void)pvops_clock_ns();
    (void)pvops_tsc_khz();
    pvops_wall_clock wall{};
    (void)pvops_get_wall_clock(&wall);
    (void)pvops_steal_ns(cpu);
    (void)pvops_vcpu_is_preempted(cpu);
  }

  void Timer(FuzzedDataProvider& in) {
    const uint64_t deadline = in.ConsumeIntegral<uint64_t>();
    (void)pvops_timer_oneshot(deadline, kVectors[in.ConsumeIntegralInRange<size_t>(0, 2)]);
    sim_.AdvanceTsc(in.ConsumeIntegral<uint32_t>());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return pvops::fuzz::RunOnFreshMachine<EventsFuzz>(data, size);
}
