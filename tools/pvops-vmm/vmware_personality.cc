// SPDX-License-Identifier: MIT
#include "vmware_personality.h"

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "guest_memory.h"
#include "kvm_handles.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// Backdoor commands (QEMU's hw/i386/vmport.h, open-vm-tools' backdoor_def.h).
constexpr uint8_t kCommandGetVersion = 10;
constexpr uint8_t kCommandGetRamSize = 20;
constexpr uint8_t kCommandGetHz = 45;
constexpr uint8_t kCommandGetVcpuInfo = 68;
constexpr uint32_t kVmxVersion = 6;          // QEMU's vmware-vmx-version default
constexpr uint32_t kVmxTypeEsx = 2;          // QEMU's vmware-vmx-type default
constexpr uint32_t kRamSizeMarker = 0x1177;  // what vmport puts in EBX for GETRAMSIZE
constexpr uint32_t kVcpuInfoLegacyX2apic = 1u << 3;
// The LAPIC timer's input clock under KVM (1 ns per bus cycle), which QEMU on KVM reports too.
constexpr uint32_t kKvmApicBusHz = 1'000'000'000;
constexpr uint32_t kAllOnes = 0xffffffff;
constexpr uint16_t kOptionRomSignature = 0xaa55;
constexpr uint64_t kOptionRomSlot = 2048;

class VmwarePersonality final : public Personality {
 public:
  explicit VmwarePersonality(const PersonalityOptions& options) : rom_(options.option_rom) {
    if (options.kvm_features_clear != 0 || options.hv_vp_index_stride != 1 ||
        options.hv_privileges_clear != 0 || options.hv_hints_clear != 0) {
      throw VmmError("personality vmware takes none of the KVM or Hyper-V options");
    }
    if (!rom_.empty()) rom_address_ = OptionRomAddress(rom_);
  }

  std::string_view name() const override { return "vmware"; }

  CpuidTable BuildTable(std::span<const kvm_cpuid_entry2> supported,
                        const VcpuTopology& topology) override {
    CpuidTable table(supported.begin(), supported.end());
    ApplyTopologyAndApicFeatures(table, topology);
    // QEMU's TCG `pc` machine of the vmware environment shows no 0x40000000 block.
    RemoveHypervisorLeaves(table);
    x2apic_ = (FindLeaf(table, 1)->ecx & kCpuid1EcxX2Apic) != 0;
    return table;
  }

  void ConfigureVcpu(Vcpu& vcpu) override {
    // No KVM leaves, so none of KVM's own PV MSRs or hypercalls either.
    vcpu.EnableCapability(KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
  }

  std::vector<GuestRange> ReservedRanges() const override {
    if (rom_.empty()) return {};
    return {{rom_address_, rom_address_ + rom_.size(), "the option ROM"}};
  }

  void FillGuestMemory(GuestMemory& memory) override {
    if (rom_.empty()) return;
    std::memcpy(memory.At(rom_address_, rom_.size()).data(), rom_.data(), rom_.size());
  }

  void Attach(MachineHost& machine) override { ram_bytes_ = machine.memory().size(); }

  bool HandlePortIo(Vcpu& vcpu, uint16_t port, bool is_write, std::span<uint8_t> data) override {
    // vmport serves 32-bit accesses; narrower ones are not the backdoor.
    if (port != kVmwareBackdoorPort || data.size() != sizeof(uint32_t)) return false;
    ++calls_;
    kvm_regs regs = vcpu.GetRegs();
    BackdoorRegisters backdoor{static_cast<uint32_t>(regs.rax), static_cast<uint32_t>(regs.rbx),
                               static_cast<uint32_t>(regs.rcx), static_cast<uint32_t>(regs.rdx)};
    const BackdoorFacts facts{.tsc_khz = vcpu.TscKhz(), .ram_bytes = ram_bytes_, .x2apic = x2apic_};
    if (!AnswerBackdoor(backdoor, facts)) ++unanswered_;
    // As vmport: the answer's EAX is what `in` reads, and what an `out` leaves in EAX too.
    regs.rax = backdoor.eax;
    regs.rbx = backdoor.ebx;
    regs.rcx = backdoor.ecx;
    regs.rdx = backdoor.edx;
    vcpu.SetRegs(regs);  // the `in` completes on re-entry, EAX from `data`
    if (!is_write) std::memcpy(data.data(), &backdoor.eax, sizeof(backdoor.eax));
    return true;
  }

  std::string StatFields() const override {
    return absl::StrCat(" vmm_vmware_backdoor_calls=", calls_.load(),
                        " vmm_vmware_backdoor_unanswered=", unanswered_.load());
  }

 private:
  std::vector<uint8_t> rom_;
  uint64_t rom_address_ = 0;
  uint64_t ram_bytes_ = 0;
  bool x2apic_ = false;
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> unanswered_{0};
};

}  // namespace

uint64_t OptionRomAddress(std::span<const uint8_t> rom) {
  if (rom.size() < 3 || (rom[0] | rom[1] << 8) != kOptionRomSignature)
    throw VmmError("the option ROM does not start with 0x55 0xAA");
  const uint64_t address = kOptionRomWindowStart;
  static_assert(kOptionRomWindowStart % kOptionRomSlot == 0);
  if (rom.size() > kOptionRomWindowEnd - address) {
    throw VmmError(absl::StrFormat("the option ROM's %u bytes do not fit the window [%#x, %#x)",
                                   rom.size(), kOptionRomWindowStart, kOptionRomWindowEnd));
  }
  return address;
}

bool AnswerBackdoor(BackdoorRegisters& regs, const BackdoorFacts& facts) {
  if (regs.eax != kVmwareBackdoorMagic) {
    regs.eax = kAllOnes;
    return false;
  }
  switch (static_cast<uint8_t>(regs.ecx)) {  // vmport reads the command from CL
    case kCommandGetVersion:
      regs.ebx = kVmwareBackdoorMagic;
      regs.ecx = kVmxTypeEsx;
      regs.eax = kVmxVersion;
      return true;
    case kCommandGetRamSize:
      regs.ebx = kRamSizeMarker;
      regs.eax = static_cast<uint32_t>(facts.ram_bytes);
      return true;
    case kCommandGetHz:
      if (facts.tsc_khz == 0) {
        regs.ebx = kAllOnes;  // "cannot tell"
        return true;
      } else {
        const uint64_t tsc_hz = uint64_t{facts.tsc_khz} * 1000;
        regs.eax = static_cast<uint32_t>(tsc_hz);
        regs.ebx = static_cast<uint32_t>(tsc_hz >> 32);
        regs.ecx = kKvmApicBusHz;
        return true;
      }
    case kCommandGetVcpuInfo: regs.eax = facts.x2apic ? kVcpuInfoLegacyX2apic : 0; return true;
    default: regs.eax = kAllOnes; return false;
  }
}

std::unique_ptr<Personality> MakeVmwarePersonality(const PersonalityOptions& options) {
  return std::make_unique<VmwarePersonality>(options);
}

}  // namespace pvops::vmm
