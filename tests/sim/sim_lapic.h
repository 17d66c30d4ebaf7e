/* SPDX-License-Identifier: MIT */
// A local APIC for every simulated CPU: IA32_APIC_BASE, the xAPIC MMIO page (mapped at its
// guest-physical base) and the x2APIC MSRs, the ICR (with a scriptable delivery-pending bit),
// EOI, TPR, SVR, and the timer (one-shot count-down driven by the TSC, TSC-deadline MSR).
// Models what software sees, not interrupt delivery: sent IPIs are logged and handed to a hook,
// where a test runs the target's handler on the target CPU.
#pragma once

#include <stdint.h>

#include <functional>
#include <vector>

#include "sim_cpu.h"

namespace pvops::sim {

struct SentIpi {
  uint32_t from_cpu;
  uint32_t destination;  // APIC ID
  uint32_t icr_low;      // vector, delivery mode, level...
  uint64_t tsc;          // when the ICR write happened
  uint8_t vector() const { return static_cast<uint8_t>(icr_low & 0xff); }
  uint32_t delivery_mode() const { return (icr_low >> 8) & 7; }
};

class SimLapic {
 public:
  static constexpr uint64_t kDefaultBase = 0xfee00000;
  static constexpr uint32_t kMsrApicBase = 0x1b;
  static constexpr uint32_t kMsrTscDeadline = 0x6e0;

  struct Options {
    uint64_t base = kDefaultBase;
    bool x2apic = false;            // IA32_APIC_BASE.EXTD
    bool globally_enabled = true;   // IA32_APIC_BASE.EN
    bool tsc_deadline_msr = false;  // MSR 0x6e0 present (pair it with CPUID.1:ECX[24])
    // The timer's input clock as a fraction of the TSC rate.
    uint64_t timer_ticks_per_tsc_num = 1;
    uint64_t timer_ticks_per_tsc_den = 2;
  };

  SimLapic(SimCpu& cpu, const Options& options);
  explicit SimLapic(SimCpu& cpu) : SimLapic(cpu, Options{}) {}
  SimLapic(const SimLapic&) = delete;
  SimLapic& operator=(const SimLapic&) = delete;

  void SetX2apic(bool on) { options_.x2apic = on; }
  void SetTscDeadlineMsr(bool present) { options_.tsc_deadline_msr = present; }
  void SetTimerTicksPerTsc(uint64_t num, uint64_t den) {
    options_.timer_ticks_per_tsc_num = num;
    options_.timer_ticks_per_tsc_den = den;
  }
  void SetApicId(uint32_t cpu, uint32_t apic_id) { regs_.at(cpu).id = apic_id; }
  // What firmware left in the spurious-interrupt vector register.
  void SetSpurious(uint32_t cpu, uint32_t value) { regs_.at(cpu).svr = value; }
  // After each IPI, the xAPIC ICR reads "delivery pending" this many more times.
  void SetIcrPendingReads(uint32_t reads) { pending_reads_per_ipi_ = reads; }
  // Runs after an IPI is logged.
  void OnIpi(std::function<void(const SentIpi&)> hook) { on_ipi_ = std::move(hook); }

  const std::vector<SentIpi>& sent() const { return sent_; }
  uint32_t eoi_count(uint32_t cpu) const { return regs_.at(cpu).eois; }
  uint32_t tpr(uint32_t cpu) const { return regs_.at(cpu).tpr; }
  uint32_t spurious(uint32_t cpu) const { return regs_.at(cpu).svr; }
  uint32_t lvt_timer(uint32_t cpu) const { return regs_.at(cpu).lvt_timer; }
  uint32_t timer_initial_count(uint32_t cpu) const { return regs_.at(cpu).initial_count; }
  uint32_t timer_divide(uint32_t cpu) const { return regs_.at(cpu).divide; }
  uint64_t tsc_deadline(uint32_t cpu) const { return regs_.at(cpu).tsc_deadline; }
  // The divisor a divide-configuration value selects (1..128).
  static uint32_t Divisor(uint32_t divide_config);
  // Where the xAPIC page lives in host memory (what the env's phys_to_virt gives for base).
  const volatile void* page() const { return page_; }

 private:
  struct Registers {
    uint32_t id = 0;
    uint32_t tpr = 0;
    uint32_t svr = 0xff;  // reset value: vector 0xff, software-disabled
    uint32_t icr_low = 0;
    uint32_t icr_high = 0;
    uint32_t lvt_timer = 1u << 16;  // masked at reset
    uint32_t initial_count = 0;
    uint32_t divide = 0;
    uint64_t armed_at_tsc = 0;
    uint64_t tsc_deadline = 0;
    uint32_t eois = 0;
    uint32_t pending_reads = 0;
  };

  uint32_t ReadRegister(uint32_t offset);
  void WriteRegister(uint32_t offset, uint32_t value);
  uint32_t CurrentCount(const Registers& r) const;
  void Send(uint32_t destination, uint32_t icr_low);
  Registers& here() { return regs_.at(cpu_.current_cpu()); }

  SimCpu& cpu_;
  Options options_;
  std::array<Registers, kMaxCpus> regs_;
  uint32_t pending_reads_per_ipi_ = 0;
  std::vector<SentIpi> sent_;
  std::function<void(const SentIpi&)> on_ipi_;
  alignas(4096) uint32_t page_[1024] = {};
};

}  // namespace pvops::sim
