// SPDX-License-Identifier: MIT
#include "hostile.h"

#include <asm/kvm_para.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "guest_memory.h"
#include "hyperv_personality.h"
#include "kvm_handles.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

struct HostileName {
  std::string_view name;
  uint32_t bit;
};
constexpr HostileName kHostileNames[] = {
    {"max-below-base", kHostileMaxBelowBase},
    {"max-leaf-huge", kHostileMaxLeafHuge},
    {"no-features-leaf", kHostileNoFeaturesLeaf},
    {"leaves-all-ff", kHostileLeavesAllFf},
    {"cpuid-differs-on-cpu1", kHostileCpuidDiffersOnCpu1},
    {"kvmclock-odd", kHostileKvmclockOdd},
    {"kvmclock-refused-on-cpu1", kHostileKvmclockRefusedOnCpu1},
    {"hv-no-hv1", kHostileHvNoHv1},
    {"hv-hypercall-faults", kHostileHvHypercallFaults},
    {"hv-hypercall-ignored", kHostileHvHypercallIgnored},
    {"hv-tsc-page-sequence-0", kHostileHvTscPageSequence0},
};

constexpr uint32_t kMsrHvHypercall = 0x40000001;     // HV_X64_MSR_HYPERCALL
constexpr uint32_t kMsrHvReferenceTsc = 0x40000021;  // HV_X64_MSR_REFERENCE_TSC
// Leaves base..base+0x1f: every one a guest reads (signatures, KVM's features, Hyper-V's to
// 0x4000000a, the timing leaf 0x40000010). KVM takes at most 256 entries (KVM_MAX_CPUID_ENTRIES),
// the rest of the table included, so not the whole 0x100 block: KVM answers zeros past it.
constexpr uint32_t kLastHypervisorLeafOfBlock = 0x1f;

// The pvclock tuple (Linux's struct pvclock_vcpu_time_info) and the Hyper-V TSC page header.
struct PvclockTuple {
  uint32_t version;
  uint32_t pad0;
  uint64_t tsc_timestamp;
  uint64_t system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags;
  uint8_t pad[2];
};
static_assert(sizeof(PvclockTuple) == 32);
struct TscPageHeader {
  uint32_t tsc_sequence;
  uint32_t reserved;
  uint64_t tsc_scale;
  int64_t tsc_offset;
};
constexpr uint8_t kPvclockTscStable = 1;

std::vector<uint32_t> FilteredMsrs(uint32_t hostile) {
  std::vector<uint32_t> msrs;
  if (hostile & (kHostileKvmclockOdd | kHostileKvmclockRefusedOnCpu1)) {
    msrs.push_back(MSR_KVM_SYSTEM_TIME);
    msrs.push_back(MSR_KVM_SYSTEM_TIME_NEW);
  }
  if (hostile & (kHostileHvHypercallFaults | kHostileHvHypercallIgnored))
    msrs.push_back(kMsrHvHypercall);
  if (hostile & kHostileHvTscPageSequence0) msrs.push_back(kMsrHvReferenceTsc);
  return msrs;
}

// A plausible tuple for a TSC of `khz` (only its version is wrong): ns = (tsc << shift) * mul
// >> 32.
PvclockTuple OddTuple(uint32_t khz) {
  PvclockTuple t{};
  t.version = 1;
  unsigned __int128 mul = (static_cast<unsigned __int128>(1000000) << 32) / khz;
  int8_t shift = 0;
  while (mul >> 32 != 0) mul >>= 1, ++shift;
  t.tsc_to_system_mul = static_cast<uint32_t>(mul);
  t.tsc_shift = shift;
  t.flags = kPvclockTscStable;
  return t;
}

}  // namespace

uint32_t ParseHostile(std::string_view spec) {
  uint32_t bits = 0;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string word(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (word.empty()) continue;
    uint32_t bit = 0;
    for (const HostileName& known : kHostileNames)
      if (known.name == word) bit = known.bit;
    if (bit == 0) {
      throw VmmError(absl::StrCat("unknown --hostile '", word, "' (", HostileNameList(), ")"));
    }
    bits |= bit;
  }
  const uint32_t signature =
      kHostileMaxBelowBase | kHostileMaxLeafHuge | kHostileNoFeaturesLeaf | kHostileLeavesAllFf;
  if ((bits & signature) & ((bits & signature) - 1))
    throw VmmError("--hostile: one way of breaking the signature block at a time");
  if ((bits & kHostileHvHypercallFaults) && (bits & kHostileHvHypercallIgnored))
    throw VmmError("--hostile: hv-hypercall-faults or hv-hypercall-ignored, not both");
  return bits;
}

std::string HostileNameList() {
  std::string list;
  for (const HostileName& known : kHostileNames)
    absl::StrAppend(&list, list.empty() ? "" : ", ", std::string(known.name));
  return list;
}

void ApplyHostileKvmLeaves(CpuidTable& table, uint32_t hostile, uint32_t vcpu_id, uint32_t base) {
  if ((hostile & kHostileKvmOnly) == 0) return;
  kvm_cpuid_entry2* signature = FindLeaf(table, base);
  kvm_cpuid_entry2* features = FindLeaf(table, base + 1);
  if (signature == nullptr || features == nullptr)
    throw VmmError(absl::StrFormat("--hostile: no KVM leaves at %#x to break", base));
  if (hostile & kHostileMaxBelowBase) signature->eax = base - 1;
  if (hostile & kHostileMaxLeafHuge) signature->eax = 0x4fffffff;
  if (hostile & kHostileNoFeaturesLeaf) {
    signature->eax = base;
    std::erase_if(table, [&](const kvm_cpuid_entry2& e) { return e.function == base + 1; });
  }
  if (hostile & kHostileLeavesAllFf) {
    // The whole block, also the leaves KVM never listed (KVM answers those with zeros).
    RemoveHypervisorLeaves(table);
    for (uint32_t leaf = base; leaf <= base + kLastHypervisorLeafOfBlock; ++leaf)
      table.push_back(CpuidLeaf(leaf, 0, ~0u, ~0u, ~0u, ~0u));
  }
  if ((hostile & kHostileCpuidDiffersOnCpu1) && vcpu_id == 1) features->eax &= ~kKvmPerCpuFeatures;
}

void ApplyHostileHvLeaves(CpuidTable& table, uint32_t hostile) {
  if ((hostile & kHostileHvNoHv1) == 0) return;
  kvm_cpuid_entry2* vendor = FindLeaf(table, kHvLeafVendorAndMax);
  kvm_cpuid_entry2* interface = FindLeaf(table, kHvLeafInterface);
  if (vendor == nullptr || interface == nullptr)
    throw VmmError("--hostile=hv-no-hv1: no Hyper-V leaves 0x40000000/1");
  vendor->ebx = kHvVendorMicrosoftEbx;
  vendor->ecx = kHvVendorMicrosoftEcx;
  vendor->edx = kHvVendorMicrosoftEdx;
  interface->eax = 0;  // no interface signature at all, "Hv#0" in spirit
}

void HostileMsrs::ConfigureVm(Vm& vm) {
  const std::vector<uint32_t> msrs = FilteredMsrs(hostile_);
  if (msrs.empty()) return;
  if (vm.CheckExtension(KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
      vm.CheckExtension(KVM_CAP_X86_MSR_FILTER) <= 0) {
    throw VmmError("--hostile: KVM lacks KVM_CAP_X86_USER_SPACE_MSR or KVM_CAP_X86_MSR_FILTER");
  }
  // Only writes the filter denies exit; everything else stays KVM's.
  vm.EnableCapability(KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER);
  kvm_msr_filter filter{};
  filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
  uint8_t deny = 0;  // one bit per MSR of a range; 0 denies (KVM copies the bitmap)
  for (size_t i = 0; i < msrs.size(); ++i) {
    filter.ranges[i].flags = KVM_MSR_FILTER_WRITE;
    filter.ranges[i].nmsrs = 1;
    filter.ranges[i].base = msrs[i];
    filter.ranges[i].bitmap = &deny;
  }
  if (ioctl(vm.fd(), KVM_X86_SET_MSR_FILTER, &filter) < 0)
    throw VmmError(absl::StrCat("KVM_X86_SET_MSR_FILTER: ", std::strerror(errno)));
}

std::optional<bool> HostileMsrs::Write(Vcpu& vcpu, uint32_t index, uint64_t value) {
  const std::vector<uint32_t> msrs = FilteredMsrs(hostile_);
  if (std::find(msrs.begin(), msrs.end(), index) == msrs.end()) return std::nullopt;
  ++writes_answered_;
  if (index == MSR_KVM_SYSTEM_TIME || index == MSR_KVM_SYSTEM_TIME_NEW) {
    if (hostile_ & kHostileKvmclockRefusedOnCpu1) {
      if (vcpu.id() == 1) return true;
      vcpu.SetMsr(index, value);  // as the guest asked: KVM fills the tuple from now on
      return false;
    }
    // kvmclock-odd: KVM never sees the write; the VMM leaves an update that never completes.
    if ((value & 1) != 0 && machine_ != nullptr) {
      if (auto bytes = machine_->memory().TryAt(value & ~uint64_t{1}, sizeof(PvclockTuple))) {
        const PvclockTuple tuple = OddTuple(vcpu.TscKhz());
        std::memcpy(bytes->data(), &tuple, sizeof(tuple));
      }
    }
    return false;
  }
  if (index == kMsrHvHypercall) return (hostile_ & kHostileHvHypercallFaults) != 0;
  // The reference TSC page: a plausible scale, but a sequence of 0, "not valid, use the MSR".
  if ((value & 1) != 0 && machine_ != nullptr) {
    if (auto bytes = machine_->memory().TryAt(value & ~uint64_t{0xfff}, sizeof(TscPageHeader))) {
      TscPageHeader page{};
      page.tsc_scale = static_cast<uint64_t>((static_cast<unsigned __int128>(10000000) << 64) /
                                             (uint64_t{vcpu.TscKhz()} * 1000));
      std::memcpy(bytes->data(), &page, sizeof(page));
    }
  }
  return false;
}

std::string HostileMsrs::StatFields() const {
  if (FilteredMsrs(hostile_).empty()) return "";
  return absl::StrCat(" vmm_hostile_msr_writes=", writes_answered_.load());
}

}  // namespace pvops::vmm
