// SPDX-License-Identifier: MIT
#include "hv_machine.h"

#include <string.h>

#include "arch/x86/registers.h"
#include "backends/hyperv/hv_hypercall.h"

namespace pvops::test {
namespace {

using namespace pvops::hyperv;

// KVM's stub on AMD: vmmcall; ret.
constexpr uint8_t kKvmAmdStub[] = {0x0f, 0x01, 0xd9, 0xc3};

}  // namespace

HyperVMachineTest::HyperVMachineTest() {
  model_.hypervisor_bit = true;
  // A freshly loaded kernel: the page in its text is still zeros.
  memset(const_cast<uint8_t*>(HypercallPage()), 0, X86_PAGE_SIZE);
  for (uint32_t cpu = 0; cpu < sim::kMaxCpus; ++cpu) vp_index_[cpu] = cpu;
  // A page consistent with TIME_REF_COUNT: tsc * 2^64/200 >> 64 == tsc / 200.
  tsc_page_script_.sequence = 1;
  tsc_page_script_.scale = ~uint64_t{0} / kTscTicksPer100ns;
  tsc_page_script_.offset = 0;
  answer_ = [this](const HvCall& call) {
    if (call.code == kCallReserved) return Status(kHvStatusInvalidHypercallCode);
    if (deliver_ipis_) DeliverClusterIpi(call);
    return Success(call.rep_count);
  };
  sim_.HandleMsrs(
      kMsrGuestOsId, kMsrGuestOsId + 0xff, [this](uint32_t msr) { return ReadMsr(msr); },
      [this](uint32_t msr, uint64_t value) { return WriteMsr(msr, value); });
  sim_.SetStubHandler([this](const void* stub, arch::HypercallRegs& regs) { OnCall(stub, regs); });
}

pvops_status HyperVMachineTest::BootHyperV(const char* cmdline) {
  DescribePartition();
  env_ = sim::MakeEnv(cmdline);
  return pvops_init(&env_);
}

void HyperVMachineTest::DescribePartition() {
  sim::LoadCpuModel(sim_, model_);
  sim_.SetHypervisorLeaf(hv_.base, hv_.base + 5, hv_.vendor);
  sim_.SetCpuid(hv_.base + kLeafInterface, {hv_.interface, 0, 0, 0});
  sim_.SetCpuid(hv_.base + kLeafVersion, {14393, hv_.version_ebx, 0, 0});
  sim_.SetCpuid(hv_.base + kLeafFeatures, {hv_.privileges, 0, 0, hv_.features});
  sim_.SetCpuid(hv_.base + kLeafHints, {hv_.hints, hv_.spin_wait_count, 0, 0});
  sim_.SetCpuid(hv_.base + kLeafLimits, {hv_.max_vps, 64, 0, 0});
}

std::vector<HvCall> HyperVMachineTest::CallsWithCode(uint16_t code) const {
  std::vector<HvCall> out;
  for (const HvCall& c : calls_)
    if (c.code == code) out.push_back(c);
  return out;
}

std::optional<uint64_t> HyperVMachineTest::ReadMsr(uint32_t msr) {
  const uint32_t cpu = sim_.current_cpu();
  if (refused_msr_ != 0 && msr == refused_msr_) return std::nullopt;
  switch (msr) {
    case kMsrGuestOsId:
      if (Granted(kPrivHypercallMsrs)) return guest_os_id_;
      break;
    case kMsrHypercall:
      if (!Granted(kPrivHypercallMsrs)) break;
      if (hypercall_msr_locked_at_ != 0) return hypercall_msr_locked_at_ | kMsrHypercallLocked | 1;
      return hypercall_msr_;
    case kMsrVpIndex:
      if (Granted(kPrivVpIndex)) return vp_index_[cpu];
      break;
    case kMsrTimeRefCount:
      if (Granted(kPrivTimeRefCount)) return ReferenceNow();
      break;
    case kMsrReferenceTsc:
      if (Granted(kPrivReferenceTsc)) return reference_tsc_msr_;
      break;
    case kMsrTscFrequency:
      if (Granted(kPrivFrequencyMsrs)) return tsc_frequency_hz_;
      break;
    case kMsrTpr:
      if (Granted(kPrivApicMsrs)) return tpr_[cpu];
      break;
    case kMsrVpAssistPage:
      if (Granted(kPrivApicMsrs)) return vp_assist_msr_[cpu];
      break;
    case kMsrStimer0Config:
      if (Granted(kPrivSyntheticTimers) && synic_active_) return stimer_config_[cpu];
      break;
    case kMsrStimer0Count:
      if (Granted(kPrivSyntheticTimers) && synic_active_) return stimer_count_[cpu];
      break;
    default: break;
  }
  return std::nullopt;
}

bool HyperVMachineTest::WriteMsr(uint32_t msr, uint64_t value) {
  const uint32_t cpu = sim_.current_cpu();
  if (refused_msr_ != 0 && msr == refused_msr_) return false;
  switch (msr) {
    case kMsrGuestOsId:
      if (!Granted(kPrivHypercallMsrs)) return false;
      guest_os_id_ = value;
      return true;
    case kMsrHypercall:
      if (!Granted(kPrivHypercallMsrs)) return false;
      if (guest_os_id_ == 0) return true;  // ignored until the guest says who it is (as KVM)
      hypercall_msr_ = value;
      if ((value & kMsrPageEnable) != 0 && fill_hypercall_page_)
        memcpy(static_cast<uint8_t*>(sim_.GuestMemory(value & kMsrPageAddressMask)), kKvmAmdStub,
               sizeof(kKvmAmdStub));
      return true;
    case kMsrReferenceTsc:
      if (!Granted(kPrivReferenceTsc)) return false;
      reference_tsc_msr_ = value;
      if ((value & kMsrPageEnable) != 0)
        *static_cast<ReferenceTscPage*>(sim_.GuestMemory(value & kMsrPageAddressMask)) =
            tsc_page_script_;
      return true;
    case kMsrEoi:
      if (!Granted(kPrivApicMsrs)) return false;
      eoi_writes_.push_back(value);
      return true;
    case kMsrIcr:
      if (!Granted(kPrivApicMsrs)) return false;
      icr_writes_.push_back(value);
      if (deliver_ipis_ && ((value >> 8) & 7) == 0)
        DeliverOn(static_cast<uint32_t>(x2apic_ ? value >> 32 : value >> 56),
                  static_cast<uint8_t>(value));
      return true;
    case kMsrTpr:
      if (!Granted(kPrivApicMsrs)) return false;
      tpr_[cpu] = value;
      return true;
    case kMsrVpAssistPage:
      if (!Granted(kPrivApicMsrs)) return false;
      vp_assist_msr_[cpu] = value;
      return true;
    case kMsrStimer0Config:
      if (!Granted(kPrivSyntheticTimers) || !synic_active_) return false;
      stimer_config_[cpu] = value;
      return true;
    case kMsrStimer0Count:
      if (!Granted(kPrivSyntheticTimers) || !synic_active_) return false;
      stimer_count_[cpu] = value;
      return true;
    default: return false;  // read-only (VP index, counters, frequencies) or absent
  }
}

void HyperVMachineTest::OnCall(const void* stub, arch::HypercallRegs& regs) {
  EXPECT_EQ(stub, const_cast<const uint8_t*>(HypercallPage())) << "a call outside the page";
  EXPECT_EQ(memcmp(stub, kKvmAmdStub, sizeof(kKvmAmdStub)), 0) << "a call into an unfilled page";
  HvCall call{};
  call.cpu = sim_.current_cpu();
  call.control = regs.rcx;
  call.code = static_cast<uint16_t>(regs.rcx & 0xffff);
  call.fast = (regs.rcx & kControlFast) != 0;
  call.var_header_qwords = static_cast<uint32_t>((regs.rcx >> kControlVarHeaderShift) & 0x3ff);
  call.rep_count = static_cast<uint32_t>((regs.rcx >> kControlRepCountShift) & 0xfff);
  call.rep_start = static_cast<uint32_t>((regs.rcx >> kControlRepStartShift) & 0xfff);
  call.rdx = regs.rdx;
  call.r8 = regs.r8;
  call.interrupts_enabled = sim_.interrupts_enabled();
  // The TLFS: 8-byte aligned and inside one page (the library uses half a page per block).
  if (!call.fast && regs.rdx != 0 && regs.rdx % 8 == 0 &&
      regs.rdx % X86_PAGE_SIZE + X86_PAGE_SIZE / 2 <= X86_PAGE_SIZE) {
    const uint64_t* in = static_cast<const uint64_t*>(sim_.GuestMemory(regs.rdx));
    call.input.assign(in, in + X86_PAGE_SIZE / 2 / 8);
  }
  calls_.push_back(call);
  regs.rax = answer_(call);  // a copy: delivering an IPI may record more calls
}

void HyperVMachineTest::DeliverOn(uint32_t cpu, uint8_t vector) {
  ASSERT_LT(cpu, sim::kMaxCpus);
  sim_.RunOnCpu(cpu, [vector] { pvops_handle_interrupt(vector); });
}

void HyperVMachineTest::DeliverClusterIpi(const HvCall& call) {
  auto deliver_vp = [this](uint64_t vp, uint8_t vector) {
    for (uint32_t cpu = 0; cpu < sim::kMaxCpus; ++cpu)
      if (vp_index_[cpu] == vp) DeliverOn(cpu, vector);
  };
  if (call.code == kCallSendSyntheticClusterIpi && call.fast) {
    for (uint32_t vp = 0; vp < 64; ++vp)
      if ((call.r8 >> vp) & 1) deliver_vp(vp, static_cast<uint8_t>(call.rdx));
  } else if (call.code == kCallSendSyntheticClusterIpiEx && !call.input.empty()) {
    const uint64_t valid_banks = call.input[2];
    uint32_t slot = 3;
    for (uint32_t bank = 0; bank < 64; ++bank) {
      if (((valid_banks >> bank) & 1) == 0) continue;
      const uint64_t bits = call.input[slot++];
      for (uint32_t bit = 0; bit < 64; ++bit)
        if ((bits >> bit) & 1) deliver_vp(bank * 64 + bit, static_cast<uint8_t>(call.input[0]));
    }
  }
}

}  // namespace pvops::test
