/* SPDX-License-Identifier: MIT */
// A simulated bare-metal PC, the base of the hardware layer's and every backend's tests: a CPU
// without hypervisor leaves, a LAPIC per CPU, a 2 GHz TSC whose rate CPUID 0x15 enumerates
// (25 MHz crystal times 80), and QEMU's TCG habit of echoing the last basic leaf. Tests adjust
// the model, then Boot().
#pragma once

#include <pvops/pvops.hpp>

#include <deque>
#include <string>

#include "core/paravirt_ops.h"
#include "core/runtime.h"
#include "sim_isa.h"
#include "sim_lapic.h"
#include "sim_machine.h"
#include "sim_test.h"

namespace pvops::test {

inline constexpr uint64_t kTscKhz = 2'000'000;
inline constexpr uint32_t kCrystalHz = 25'000'000;

// The first null slot of `table` as "group[index]" (core::FindEmptySlot), "" when there is none.
inline std::string EmptySlotOf(const pvops_ops& table) {
  core::TableSlot empty{};
  if (!core::FindEmptySlot(table, &empty)) return "";
  return std::string(empty.group) + "[" + std::to_string(empty.index) + "]";
}

class BareMetalMachineTest : public sim::SimTest {
 protected:
  BareMetalMachineTest() {
    model_.max_basic_leaf = 0x16;
    model_.tsc_ratio_denominator = 1;
    model_.tsc_ratio_numerator = 80;
    model_.crystal_hz = kCrystalHz;
    model_.base_mhz = 2000;
    sim::LoadCpuModel(sim_, model_);
    sim_.SetCpuidMiss(sim::SimCpu::CpuidMiss::kEchoLastBasicLeaf);
  }

  // Re-applies model_ (after a test edits it) and runs pvops_init on CPU 0.
  void Boot(const char* cmdline = nullptr) {
    sim::LoadCpuModel(sim_, model_);
    env_ = sim::MakeEnv(cmdline);
    ASSERT_EQ(pvops_init(&env_), PVOPS_OK);
  }

  // Brings CPUs 1..count-1 online, each on itself.
  void OnlineCpus(uint32_t count) {
    for (uint32_t cpu = 1; cpu < count; ++cpu) {
      ASSERT_EQ(OnlineCpu(cpu), PVOPS_OK);
    }
  }

  // Fixed IPIs run their vector's handler on the target right away (APIC ID == CPU index).
  void DeliverIpisAtOnce() {
    lapic_.OnIpi([this](const sim::SentIpi& ipi) {
      if (ipi.delivery_mode() != 0) return;
      sim_.RunOnCpu(ipi.destination, [&] { pvops_handle_interrupt(ipi.vector()); });
    });
  }

  // Fixed IPIs wait in a queue until DeliverQueued() (or never).
  void QueueIpis() {
    lapic_.OnIpi([this](const sim::SentIpi& ipi) {
      if (ipi.delivery_mode() == 0) queued_.push_back(ipi);
    });
  }
  void DeliverQueued() {
    while (!queued_.empty()) {
      const sim::SentIpi ipi = queued_.front();
      queued_.pop_front();
      sim_.RunOnCpu(ipi.destination, [&] { pvops_handle_interrupt(ipi.vector()); });
    }
  }

  sim::CpuModel model_;
  sim::SimLapic lapic_{sim_};
  pvops_env env_{};
  std::deque<sim::SentIpi> queued_;
};

}  // namespace pvops::test
