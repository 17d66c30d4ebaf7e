/* SPDX-License-Identifier: MIT */
// Thin owners of /dev/kvm, a VM and its vCPUs: each ioctl the VMM uses, failing loudly.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "personality.h"
#include "unique_fd.h"

namespace pvops::vmm {

// A KVM capability a part of the VMM needs, by number and name (for the message that names the
// first one missing).
struct KvmCapability {
  long capability;
  const char* name;
};

class KvmSystem {
 public:
  KvmSystem();  // opens /dev/kvm and checks the API version
  int fd() const { return fd_.get(); }
  int CheckExtension(long capability) const;
  CpuidTable SupportedCpuid() const;
  // KVM's Hyper-V leaves (system-wide KVM_GET_SUPPORTED_HV_CPUID, KVM_CAP_SYS_HYPERV_CPUID).
  CpuidTable SupportedHvCpuid() const;
  size_t VcpuMmapSize() const;
  // The MSRs KVM saves and restores for userspace (KVM_GET_MSR_INDEX_LIST).
  std::vector<uint32_t> MsrIndexList() const;

 private:
  UniqueFd fd_;
};

class Vm {
 public:
  explicit Vm(const KvmSystem& kvm);
  int fd() const { return fd_.get(); }
  const KvmSystem& kvm() const { return kvm_; }
  int CheckExtension(long capability) const;
  void EnableCapability(uint32_t capability, uint64_t argument);
  void SetUserMemory(uint32_t slot, uint64_t guest_physical, uint64_t size, void* host);
  void CreateIrqchip();
  // Replaces KVM's whole GSI routing table (after CreateIrqchip).
  void SetGsiRouting(const std::vector<kvm_irq_routing_entry>& routes);
  // Drives a GSI of the in-kernel irqchip: KVM_IRQ_LINE. Callable from any thread.
  void SetIrqLine(uint32_t gsi, bool asserted);
  void CreatePit();
  void SetTssAddress(uint64_t address);
  UniqueFd OpenStatsFd();
  // KVM's Xen emulation (KVM_CAP_XEN_HVM). The attribute calls return 0 or -errno, since the
  // values often come from the guest, whose mistakes are its own errors, not the VMM's.
  void SetXenHvmConfig(const kvm_xen_hvm_config& config);
  int SetXenAttr(const kvm_xen_hvm_attr& attr);
  // Raises event channel `port` on Xen vCPU `vcpu` as Xen would (KVM_XEN_HVM_EVTCHN_SEND).
  int SendXenEvent(uint32_t port, uint32_t vcpu);
  // The guest's kvmclock now (KVM_GET_CLOCK), in ns.
  uint64_t ClockNs();
  kvm_clock_data GetClock();
  void SetClock(const kvm_clock_data& clock);
  // An MSI from the host (KVM_SIGNAL_MSI); false when KVM delivered it to no vCPU.
  bool SignalMsi(uint64_t address, uint32_t data);
  // The in-kernel PIC and IOAPIC (KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC) and PIT.
  kvm_irqchip GetIrqchip(uint32_t chip_id);
  void SetIrqchip(const kvm_irqchip& chip);
  kvm_pit_state2 GetPit();
  void SetPit(const kvm_pit_state2& pit);

 private:
  const KvmSystem& kvm_;
  UniqueFd fd_;
};

class Vcpu {
 public:
  Vcpu(Vm& vm, uint32_t id);
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();

  uint32_t id() const { return id_; }
  int fd() const { return fd_.get(); }
  kvm_run* run() const { return run_; }

  void SetCpuid(const CpuidTable& table);
  kvm_regs GetRegs();
  void SetRegs(const kvm_regs& regs);
  kvm_sregs GetSregs();
  void SetSregs(const kvm_sregs& sregs);
  kvm_mp_state GetMpState();
  void SetMpState(uint32_t mp_state);
  // KVM_GET_MSRS of `indices`: the entries KVM read, in order; one it cannot read is left out.
  std::vector<kvm_msr_entry> GetMsrs(const std::vector<uint32_t>& indices);
  // KVM_SET_MSRS: how many entries, from the first, KVM took (it stops at a refusal).
  size_t SetMsrs(const std::vector<kvm_msr_entry>& entries);
  kvm_lapic_state GetLapic();
  void SetLapic(const kvm_lapic_state& lapic);
  // The XSAVE area, `bytes` long (KVM_CAP_XSAVE2's size; 4096 without it).
  std::vector<uint8_t> GetXsave(size_t bytes);
  void SetXsave(const std::vector<uint8_t>& area);
  kvm_xcrs GetXcrs();
  void SetXcrs(const kvm_xcrs& xcrs);
  kvm_vcpu_events GetEvents();
  void SetEvents(const kvm_vcpu_events& events);
  kvm_debugregs GetDebugRegs();
  void SetDebugRegs(const kvm_debugregs& debugregs);
  // The guest-physical address of a guest-virtual one through the vCPU's page tables now
  // (KVM_TRANSLATE); nullopt when it is not mapped.
  std::optional<uint64_t> Translate(uint64_t virtual_address);
  // The vCPU's TSC rate as KVM runs it (KVM_GET_TSC_KHZ).
  uint32_t TscKhz();
  int SetXenAttr(const kvm_xen_vcpu_attr& attr);  // 0 or -errno, as Vm::SetXenAttr
  void EnableCapability(uint32_t capability, uint64_t argument);
  // A host-initiated MSR write (KVM_SET_MSRS), e.g. the Hyper-V VP index only the host may set.
  void SetMsr(uint32_t index, uint64_t value);
  UniqueFd OpenStatsFd();

  // One KVM_RUN: 0 after an exit to the VMM, or EINTR/EAGAIN when KVM returned without one
  // (a signal, immediate_exit, or a parked AP that saw INIT/SIPI). Throws on other errors.
  int Run();

 private:
  uint32_t id_;
  UniqueFd fd_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

}  // namespace pvops::vmm
