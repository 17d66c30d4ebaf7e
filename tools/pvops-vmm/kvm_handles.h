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

class KvmSystem {
 public:
  KvmSystem();  // opens /dev/kvm and checks the API version
  int fd() const { return fd_.get(); }
  int CheckExtension(long capability) const;
  CpuidTable SupportedCpuid() const;
  // KVM's Hyper-V leaves (system-wide KVM_GET_SUPPORTED_HV_CPUID, KVM_CAP_SYS_HYPERV_CPUID).
  CpuidTable SupportedHvCpuid() const;
  size_t VcpuMmapSize() const;

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
