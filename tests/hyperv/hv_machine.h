/* SPDX-License-Identifier: MIT */
// A simulated partition for the Hyper-V backend's host tests: the CPUID leaves, the synthetic
// MSRs and a hypercall page whose calls are recorded and answered by the test. It follows the
// TLFS closely enough to drive the backend's logic and edge cases; what KVM really does is
// checked by the `hyperv` environment, not here.
#pragma once

#include <stdint.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "backends/hyperv/hv_tlfs.h"
#include "backends/hyperv/hyperv_backend.h"
#include "bare_metal_machine.h"

namespace pvops::test {

// 2 GHz TSC: 200 ticks per 100 ns reference-time unit.
inline constexpr uint64_t kTscTicksPer100ns = kTscKhz / 10'000;

// What the partition's CPUID says.
struct HvPartition {
  uint32_t base = 0x40000000;
  std::string vendor = "Microsoft Hv";
  uint32_t interface = hyperv::kInterfaceHv1;
  uint32_t version_ebx = 0x000a0000;  // 10.0
  uint32_t privileges = hyperv::kPrivTimeRefCount | hyperv::kPrivSynic |
                        hyperv::kPrivSyntheticTimers | hyperv::kPrivApicMsrs |
                        hyperv::kPrivHypercallMsrs | hyperv::kPrivVpIndex |
                        hyperv::kPrivReferenceTsc | hyperv::kPrivFrequencyMsrs;
  uint32_t features = hyperv::kFeatDirectSyntheticTimers;
  uint32_t hints = hyperv::kHintRemoteTlbFlush | hyperv::kHintApicAccessMsrs |
                   hyperv::kHintClusterIpi | hyperv::kHintExProcessorMasks;
  uint32_t spin_wait_count = 0xfff;
  uint32_t max_vps = 1024;
};

// One call into the hypercall page, decoded.
struct HvCall {
  uint32_t cpu;
  uint64_t control;
  uint16_t code;
  bool fast;
  uint32_t var_header_qwords;
  uint32_t rep_count;
  uint32_t rep_start;
  uint64_t rdx, r8;
  bool interrupts_enabled;      // on the calling CPU, during the call
  std::vector<uint64_t> input;  // slow calls: the input half-page at rdx (empty if unusable)
};

class HyperVMachineTest : public BareMetalMachineTest {
 protected:
  HyperVMachineTest();

  // Writes the partition's CPUID, then pvops_init on CPU 0; the init status is returned.
  pvops_status BootHyperV(const char* cmdline = nullptr);
  // Writes the partition's CPUID only.
  void DescribePartition();
  // Brings CPUs 1..count-1 online and asserts each came up.
  void OnlineCpus(uint32_t count) { BareMetalMachineTest::OnlineCpus(count); }

  uint64_t ReferenceNow() const { return sim_.tsc() / kTscTicksPer100ns; }
  const pvops_info& Info() const { return *pvops_get_info(); }
  std::vector<HvCall> CallsWithCode(uint16_t code) const;
  static uint64_t Success(uint32_t reps = 0) { return uint64_t{reps} << 32; }
  static uint64_t Status(uint16_t status, uint32_t reps = 0) {
    return status | uint64_t{reps} << 32;
  }
  uint64_t CounterValue(core::Counter c) const { return core::CounterValue(c); }
  uint64_t CounterValue(hyperv::Counter c) const { return hyperv::kCounters.Value(c); }

  // ---- The partition and how its hypervisor behaves --------------------------------------
  HvPartition hv_;
  bool enforce_privileges_ = true;  // an MSR without its privilege faults (KVM ENFORCE_CPUID)
  bool fill_hypercall_page_ = true;
  bool synic_active_ = true;              // KVM refuses the stimer MSRs of a vCPU without SynIC
  uint32_t refused_msr_ = 0;              // non-zero: accesses to it fault, whatever CPUID grants
  uint64_t hypercall_msr_locked_at_ = 0;  // non-zero: the MSR reads locked at this page
  std::array<uint64_t, sim::kMaxCpus> vp_index_{};  // default: the CPU index
  hyperv::ReferenceTscPage tsc_page_script_{};      // what the hypervisor writes on enable
  uint64_t tsc_frequency_hz_ = kTscKhz * 1000;
  // Answers each call (rax); the default answers reserved code 0 "invalid code" (the boot
  // probe), delivers cluster IPIs (when deliver_ipis_) and says success with every rep done.
  std::function<uint64_t(const HvCall&)> answer_;
  // IPIs sent by the LAPIC, HV_X64_MSR_ICR or the cluster-IPI hypercalls run their handler
  // on the target at once (APIC ID == CPU index).
  void DeliverAllIpisAtOnce() {
    DeliverIpisAtOnce();
    deliver_ipis_ = true;
  }
  bool deliver_ipis_ = false;
  // What the default answer does for a cluster-IPI call (for answers that replace it).
  void DeliverClusterIpi(const HvCall& call);
  bool x2apic_ = false;  // how HV_X64_MSR_ICR names the destination

  // ---- What the guest did ---------------------------------------------------------------
  uint64_t guest_os_id_ = 0;
  uint64_t hypercall_msr_ = 0;
  uint64_t reference_tsc_msr_ = 0;
  std::array<uint64_t, sim::kMaxCpus> vp_assist_msr_{};
  std::array<uint64_t, sim::kMaxCpus> stimer_config_{};
  std::array<uint64_t, sim::kMaxCpus> stimer_count_{};
  std::array<uint64_t, sim::kMaxCpus> tpr_{};
  std::vector<uint64_t> eoi_writes_;
  std::vector<uint64_t> icr_writes_;
  std::vector<HvCall> calls_;

 private:
  bool Granted(uint32_t privilege) const {
    return !enforce_privileges_ || (hv_.privileges & privilege) != 0;
  }
  std::optional<uint64_t> ReadMsr(uint32_t msr);
  bool WriteMsr(uint32_t msr, uint64_t value);
  void OnCall(const void* stub, arch::HypercallRegs& regs);
  void DeliverOn(uint32_t cpu, uint8_t vector);
};

}  // namespace pvops::test
