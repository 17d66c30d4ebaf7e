// SPDX-License-Identifier: MIT
#include "hyperv_personality.h"

#include <asm/kvm_para.h>

#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "hostile.h"
#include "kvm_handles.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// What the VMM needs from KVM for this personality; the check names the first one missing.
constexpr KvmCapability kRequiredCapabilities[] = {
    {KVM_CAP_HYPERV, "KVM_CAP_HYPERV"},
    {KVM_CAP_SYS_HYPERV_CPUID, "KVM_CAP_SYS_HYPERV_CPUID"},
    {KVM_CAP_HYPERV_SYNIC2, "KVM_CAP_HYPERV_SYNIC2"},
    {KVM_CAP_HYPERV_ENFORCE_CPUID, "KVM_CAP_HYPERV_ENFORCE_CPUID"},
    {KVM_CAP_HYPERV_TIME, "KVM_CAP_HYPERV_TIME"},
    {KVM_CAP_HYPERV_VP_INDEX, "KVM_CAP_HYPERV_VP_INDEX"},
    {KVM_CAP_HYPERV_TLBFLUSH, "KVM_CAP_HYPERV_TLBFLUSH"},
    {KVM_CAP_HYPERV_SEND_IPI, "KVM_CAP_HYPERV_SEND_IPI"},
    {KVM_CAP_HYPERV_VAPIC, "KVM_CAP_HYPERV_VAPIC"},
    {KVM_CAP_HYPERV_SPIN, "KVM_CAP_HYPERV_SPIN"},
};

class HypervPersonality final : public Personality {
 public:
  HypervPersonality(HypervFlavour flavour, const PersonalityOptions& options, CpuidTable hv_leaves)
      : flavour_(flavour),
        options_(options),
        hv_leaves_(std::move(hv_leaves)),
        hostile_msrs_(options.hostile) {
    if (options.hostile & kHostileKvmOnly)
      throw VmmError("--hostile: only the hv-* ones apply to a Hyper-V personality");
    if (options.hv_vp_index_stride == 0) throw VmmError("--hv-vp-index-stride must be at least 1");
    if (!options.option_rom.empty()) throw VmmError("--option-rom needs personality vmware");
  }

  std::string_view name() const override {
    return flavour_ == HypervFlavour::kHypervOnly ? "hyperv" : "hyperv-kvm";
  }

  void ConfigureVm(Vm& vm) override {
    for (const auto& required : kRequiredCapabilities) {
      if (vm.CheckExtension(required.capability) <= 0) {
        throw VmmError(absl::StrFormat("personality %s: KVM lacks %s", name(), required.name));
      }
    }
    // The VM-wide answer assumes an in-kernel LAPIC, which this VM has (KVM_CREATE_IRQCHIP runs
    // first): it is what each vCPU's KVM_GET_SUPPORTED_HV_CPUID would say.
    hv_leaves_ = HypervLeavesForGuest(vm.kvm().SupportedHvCpuid());
    WithholdHypervBits(hv_leaves_, options_.hv_privileges_clear, options_.hv_hints_clear);
    ApplyHostileHvLeaves(hv_leaves_, options_.hostile);
    hostile_msrs_.ConfigureVm(vm);
  }

  void Attach(MachineHost& machine) override { hostile_msrs_.Attach(machine); }
  std::optional<bool> HandleMsrWrite(Vcpu& vcpu, uint32_t index, uint64_t value) override {
    return hostile_msrs_.Write(vcpu, index, value);
  }
  std::string StatFields() const override { return hostile_msrs_.StatFields(); }

  CpuidTable BuildTable(std::span<const kvm_cpuid_entry2> supported,
                        const VcpuTopology& topology) override {
    if (hv_leaves_.empty()) throw VmmError("the Hyper-V leaves were not read (ConfigureVm)");
    CpuidTable table(supported.begin(), supported.end());
    ApplyTopologyAndApicFeatures(table, topology);
    RemoveHypervisorLeaves(table);
    table.insert(table.end(), hv_leaves_.begin(), hv_leaves_.end());
    GrantTscInvariantOnlyIfInvariant(table, supported);
    if (flavour_ == HypervFlavour::kHypervWithKvm) {
      CpuidTable kvm = KvmLeavesAt(supported, kKvmBaseBesideHyperv);
      table.insert(table.end(), kvm.begin(), kvm.end());
      WithholdKvmFeatures(table, options_.kvm_features_clear, kKvmBaseBesideHyperv);
    } else if (options_.kvm_features_clear != 0) {
      throw VmmError(
          "--kvm-features-clear needs KVM's leaves, which personality hyperv has none of");
    }
    return table;
  }

  void ConfigureVcpu(Vcpu& vcpu) override {
    // SynIC (version 2: KVM leaves the message and event pages' contents to the guest): stimers
    // and the SynIC MSRs need it; each SynIC MSR write then exits as KVM_EXIT_HYPERV (SYNIC).
    vcpu.EnableCapability(KVM_CAP_HYPERV_SYNIC2, 0);
    // KVM refuses the MSRs and hypercalls the Hyper-V CPUID leaves do not grant...
    vcpu.EnableCapability(KVM_CAP_HYPERV_ENFORCE_CPUID, 1);
    // ...and KVM's own PV MSRs and hypercalls beyond its leaves' feature bits (all of them when
    // there is no KVM leaf), so the guest cannot use an interface it was not shown.
    vcpu.EnableCapability(KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
    // Only the host may set a VP index; KVM refuses one beyond its vCPU limit.
    if (options_.hv_vp_index_stride != 1)
      vcpu.SetMsr(kHvMsrVpIndex, uint64_t{vcpu.id()} * options_.hv_vp_index_stride);
  }

 private:
  HypervFlavour flavour_;
  PersonalityOptions options_;
  CpuidTable hv_leaves_;
  HostileMsrs hostile_msrs_;
};

}  // namespace

CpuidTable HypervLeavesForGuest(std::span<const kvm_cpuid_entry2> kvm_hv_leaves) {
  CpuidTable offered;
  for (const auto& entry : kvm_hv_leaves) {
    if (entry.function >= kHvLeafVendorAndMax && entry.function <= kHvLeafNestedFeatures) {
      offered.push_back(entry);
    }
  }
  auto* vendor = FindLeaf(offered, kHvLeafVendorAndMax);
  auto* interface = FindLeaf(offered, kHvLeafInterface);
  auto* features = FindLeaf(offered, kHvLeafFeatures);
  if (vendor == nullptr || interface == nullptr || features == nullptr ||
      FindLeaf(offered, kHvLeafEnlightenments) == nullptr) {
    throw VmmError("KVM_GET_SUPPORTED_HV_CPUID lacks the leaves 0x40000000..0x40000004");
  }
  if (interface->eax != kHvInterfaceSignature) {
    throw VmmError(
        absl::StrFormat("KVM's Hyper-V leaf 0x40000001 says %#x, not Hv#1", interface->eax));
  }
  // The synthetic debugger's leaves (0x40000080..) go, so the interface ends here.
  vendor->eax = kHvLeafNestedFeatures;
  // A guest may key on the vendor (Linux does) or on Hv#1 (the TLFS's rule, and pvops's): present
  // what a guest on real Hyper-V reads, so both recognise the interface.
  vendor->ebx = kHvVendorMicrosoftEbx;
  vendor->ecx = kHvVendorMicrosoftEcx;
  vendor->edx = kHvVendorMicrosoftEdx;
  features->ebx &=
      ~(kHvPostMessages | kHvSignalEvents | kHvDebugging | kHvEnableExtendedHypercalls);
  features->edx &= ~(kHvGuestDebuggingAvailable | kHvDebugMsrsAvailable);
  return offered;
}

void WithholdHypervBits(CpuidTable& hv_leaves, uint32_t privileges_clear, uint32_t hints_clear) {
  auto* features = FindLeaf(hv_leaves, kHvLeafFeatures);
  auto* hints = FindLeaf(hv_leaves, kHvLeafEnlightenments);
  if (features == nullptr || hints == nullptr)
    throw VmmError("no Hyper-V leaves 0x40000003/4 to withhold bits from");
  features->eax &= ~privileges_clear;
  hints->eax &= ~hints_clear;
}

void GrantTscInvariantOnlyIfInvariant(CpuidTable& table,
                                      std::span<const kvm_cpuid_entry2> supported) {
  for (const auto& entry : supported) {
    if (entry.function == kLeafAdvancedPowerManagement && (entry.edx & kApmEdxInvariantTsc) != 0)
      return;
  }
  auto* features = FindLeaf(table, kHvLeafFeatures);
  if (features == nullptr)
    throw VmmError("no Hyper-V leaf 0x40000003 to withhold the invariant-TSC control from");
  features->eax &= ~kHvAccessTscInvariant;
}

CpuidTable KvmLeavesAt(std::span<const kvm_cpuid_entry2> supported, uint32_t base) {
  CpuidTable moved;
  for (const auto& entry : supported) {
    if (entry.function != KVM_CPUID_SIGNATURE && entry.function != KVM_CPUID_FEATURES) continue;
    kvm_cpuid_entry2 copy = entry;
    copy.function = entry.function - KVM_CPUID_SIGNATURE + base;
    if (entry.function == KVM_CPUID_SIGNATURE)
      copy.eax = base + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE);
    moved.push_back(copy);
  }
  if (FindLeaf(moved, base) == nullptr || FindLeaf(moved, base + 1) == nullptr) {
    throw VmmError("KVM_GET_SUPPORTED_CPUID offers no KVM leaves 0x40000000/1 to move");
  }
  return moved;
}

std::unique_ptr<Personality> MakeHypervPersonality(HypervFlavour flavour,
                                                   const PersonalityOptions& options) {
  return std::make_unique<HypervPersonality>(flavour, options, CpuidTable{});
}

std::unique_ptr<Personality> MakeHypervPersonalityForTest(HypervFlavour flavour,
                                                          const PersonalityOptions& options,
                                                          CpuidTable kvm_hv_leaves) {
  CpuidTable offered = HypervLeavesForGuest(kvm_hv_leaves);
  WithholdHypervBits(offered, options.hv_privileges_clear, options.hv_hints_clear);
  return std::make_unique<HypervPersonality>(flavour, options, std::move(offered));
}

}  // namespace pvops::vmm
