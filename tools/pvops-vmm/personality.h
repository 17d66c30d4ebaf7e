/* SPDX-License-Identifier: MIT */
// A personality: the hypervisor a VM presents. It owns everything of a VM's set-up that differs
// from one hypervisor to another (CPUID, KVM capabilities, what it places in guest memory, the
// hypercall exits and ports it answers, its stat: fields), so that a VM can be built again with
// another personality over the same guest memory in one process.
// `kvm` presents KVM's own leaves at 0x40000000; the others live in <name>_personality.*.
#pragma once

#include <asm/kvm_para.h>
#include <linux/kvm.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "port_io_devices.h"

namespace pvops::vmm {

class ConsoleOutput;
class GuestMemory;
class Vm;
class Vcpu;

using CpuidTable = std::vector<kvm_cpuid_entry2>;

struct VcpuTopology {
  uint32_t apic_id;
  uint32_t vcpu_count;
};

// Bits of CPUID.1:ECX that KVM_GET_SUPPORTED_CPUID reports off and leaves to userspace: the
// in-kernel LAPIC emulates x2APIC and the TSC-deadline timer, and "running under a hypervisor"
// is what tells a guest to look at the 0x40000000 leaves at all.
inline constexpr uint32_t kCpuid1EcxX2Apic = 1u << 21;
inline constexpr uint32_t kCpuid1EcxTscDeadline = 1u << 24;
inline constexpr uint32_t kCpuid1EcxHypervisor = 1u << 31;

inline constexpr uint32_t kHypervisorLeafFirst = 0x40000000;
inline constexpr uint32_t kHypervisorLeafLast = 0x4000ffff;

// One CPUID entry; `index_matters` sets KVM's significant-index flag (sub-leaves).
kvm_cpuid_entry2 CpuidLeaf(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx = 0,
                           uint32_t ecx = 0, uint32_t edx = 0, bool index_matters = false);

// The entry for (function, index), honouring KVM's "index matters" flag; nullptr if absent.
kvm_cpuid_entry2* FindLeaf(CpuidTable& table, uint32_t function, uint32_t index = 0);

// Per-vCPU APIC IDs (leaves 1, 0xb, 0x1f, 0x8000001e); the x2APIC, TSC-deadline and hypervisor
// bits.
void ApplyTopologyAndApicFeatures(CpuidTable& table, const VcpuTopology& topology);

// Clears bits of KVM's feature leaf (kvm_base + 1, EAX); throws VmmError when the leaf is
// absent but bits were asked to be withheld.
void WithholdKvmFeatures(CpuidTable& table, uint32_t clear_mask,
                         uint32_t kvm_base = KVM_CPUID_SIGNATURE);

// What the running machine offers a personality that answers exits.
class MachineHost {
 public:
  virtual ~MachineHost() = default;
  virtual Vm& vm() = 0;
  virtual GuestMemory& memory() = 0;
  virtual ConsoleOutput& console() = 0;
  virtual uint32_t vcpu_count() const = 0;
  // Runs `work` on vCPU `id`'s own thread before it next enters the guest, kicking it out of
  // KVM_RUN (or its halt) first: KVM's vCPU ioctls wait while that vCPU runs, so no other thread
  // may issue them. An exception from `work` ends the run with its message.
  virtual void RunOnVcpu(uint32_t id, std::function<void(Vcpu&)> work) = 0;
};

// A guest-physical range a personality fills before the guest runs (the image may not overlap it).
struct GuestRange {
  uint64_t start;
  uint64_t end;
  const char* what;
};

// Drops every leaf of the hypervisor range 0x40000000..0x4000ffff.
void RemoveHypervisorLeaves(CpuidTable& table);

class Personality {
 public:
  virtual ~Personality() = default;
  virtual std::string_view name() const = 0;
  // Once, before any vCPU exists (VM-wide capabilities, extra CPUID sources).
  virtual void ConfigureVm(Vm& vm) { (void)vm; }
  // The table one vCPU gets, from KVM_GET_SUPPORTED_CPUID's answer.
  virtual CpuidTable BuildTable(std::span<const kvm_cpuid_entry2> supported,
                                const VcpuTopology& topology) = 0;
  // After the vCPU's CPUID is set (per-vCPU capabilities).
  virtual void ConfigureVcpu(Vcpu& vcpu) { (void)vcpu; }

  // What it places in guest memory (a ROM), and writing it there, before the guest runs.
  virtual std::vector<GuestRange> ReservedRanges() const { return {}; }
  virtual void FillGuestMemory(GuestMemory& memory) { (void)memory; }
  // The machine the exits below come from; set once all vCPUs exist, before the first runs.
  virtual void Attach(MachineHost& machine) { (void)machine; }
  // A port access on `vcpu` this personality serves before the PC's devices do; false: not its
  // port. Called on that vCPU's thread.
  virtual bool HandlePortIo(Vcpu& vcpu, uint16_t port, bool is_write, std::span<uint8_t> data) {
    (void)vcpu, (void)port, (void)is_write, (void)data;
    return false;
  }
  // KVM_EXIT_XEN on `vcpu` (its thread). A value ends the run (the guest shut down).
  virtual std::optional<PortRequest> HandleXenExit(Vcpu& vcpu);
  // A guest WRMSR the personality's MSR filter sent to userspace (KVM_EXIT_X86_WRMSR), on that
  // vCPU's thread: true makes the write fault (#GP); nullopt: not its MSR, which ends the run.
  virtual std::optional<bool> HandleMsrWrite(Vcpu& vcpu, uint32_t index, uint64_t value) {
    (void)vcpu, (void)index, (void)value;
    return std::nullopt;
  }
  // " name=value" fields for the run's closing stat: line.
  virtual std::string StatFields() const { return ""; }
};

struct PersonalityOptions {
  uint32_t kvm_features_clear = 0;  // bits of KVM's feature leaf EAX withheld from the guest
  // Hyper-V personalities: vCPU n gets VP index n * stride (1: KVM's default, the vCPU index).
  // A stride of 64 or more puts other vCPUs beyond the first 64-VP bank, where hypercalls
  // must name them in the Ex forms' sparse sets.
  uint32_t hv_vp_index_stride = 1;
  // Hyper-V personalities: bits withheld from the privileges (leaf 0x40000003 EAX) and the
  // recommendations (0x40000004 EAX); ENFORCE_CPUID makes KVM refuse what they no longer grant.
  uint32_t hv_privileges_clear = 0;
  uint32_t hv_hints_clear = 0;
  // `kvm` and the Hyper-V personalities: HostileBit values (hostile.h, --hostile).
  uint32_t hostile = 0;
  // `vmware`: the option ROM's bytes, placed in the guest's option-ROM window (may be empty).
  std::vector<uint8_t> option_rom;
};

// Whether MakePersonality knows `name`; the names, comma-separated, for messages.
bool IsPersonalityName(std::string_view name);
std::string PersonalityNameList();

// "kvm", "hyperv" (hyperv_personality.h), "hyperv-kvm", "xen" (xen_personality.h) or "vmware"
// (vmware_personality.h, with `option_rom`); anything else throws VmmError.
std::unique_ptr<Personality> MakePersonality(std::string_view name,
                                             const PersonalityOptions& options);

}  // namespace pvops::vmm
