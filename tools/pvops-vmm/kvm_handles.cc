// SPDX-License-Identifier: MIT
#include "kvm_handles.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "kvm_uapi.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr int kKvmApiVersion = 12;  // the only stable version there has ever been
constexpr uint32_t kMaxCpuidEntries = 512;
constexpr uint32_t kMaxHvCpuidEntries = 64;  // KVM 6.12 answers 10

// A struct kvm_cpuid2 as the kernel lays it out: an 8-byte header (nent, padding), then the
// entries at the offset C gives (see kvm_uapi.h for why not the C++ view of the struct).
class CpuidBuffer {
 public:
  explicit CpuidBuffer(uint32_t entries)
      : bytes_(pvops_kvm_cpuid2_entries_offset + entries * sizeof(kvm_cpuid_entry2)) {
    std::memcpy(bytes_.data(), &entries, sizeof(entries));  // nent; padding stays 0
  }
  void* get() { return bytes_.data(); }
  uint32_t count() const {
    uint32_t entries;
    std::memcpy(&entries, bytes_.data(), sizeof(entries));
    return entries;
  }
  kvm_cpuid_entry2 entry(uint32_t index) const {
    kvm_cpuid_entry2 entry;
    std::memcpy(&entry, bytes_.data() + pvops_kvm_cpuid2_entries_offset + index * sizeof(entry),
                sizeof(entry));
    return entry;
  }
  void set_entry(uint32_t index, const kvm_cpuid_entry2& entry) {
    std::memcpy(bytes_.data() + pvops_kvm_cpuid2_entries_offset + index * sizeof(entry), &entry,
                sizeof(entry));
  }

 private:
  std::vector<uint8_t> bytes_;
};

void EnableCap(int fd, uint32_t capability, uint64_t argument, const char* owner) {
  kvm_enable_cap request{};
  request.cap = capability;
  request.args[0] = argument;
  if (ioctl(fd, KVM_ENABLE_CAP, &request) < 0) {
    ThrowErrno(absl::StrFormat("KVM_ENABLE_CAP %u on the %s", capability, owner));
  }
}

UniqueFd OpenStats(int fd, const char* owner) {
  const int stats = ioctl(fd, KVM_GET_STATS_FD, nullptr);
  if (stats < 0) ThrowErrno(absl::StrFormat("KVM_GET_STATS_FD on the %s", owner));
  return UniqueFd(stats);
}

// A state struct KVM fills or takes whole (no flexible array): one ioctl, failing loudly.
template <typename T>
T GetState(int fd, unsigned long request, const char* name) {
  T state{};
  if (ioctl(fd, request, &state) < 0) ThrowErrno(name);
  return state;
}
template <typename T>
void SetState(int fd, unsigned long request, const T& state, const char* name) {
  if (ioctl(fd, request, &state) < 0) ThrowErrno(name);
}

}  // namespace

KvmSystem::KvmSystem() : fd_(open("/dev/kvm", O_RDWR | O_CLOEXEC)) {
  if (!fd_.valid()) ThrowErrno("open /dev/kvm (are the kvm modules loaded?)");
  const int version = ioctl(fd_.get(), KVM_GET_API_VERSION, nullptr);
  if (version != kKvmApiVersion) {
    throw VmmError(
        absl::StrFormat("/dev/kvm speaks API version %d, not %d", version, kKvmApiVersion));
  }
}

int KvmSystem::CheckExtension(long capability) const {
  return ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
}

CpuidTable KvmSystem::SupportedCpuid() const {
  CpuidBuffer buffer(kMaxCpuidEntries);
  if (ioctl(fd_.get(), pvops_kvm_ioctl_get_supported_cpuid, buffer.get()) < 0) {
    ThrowErrno("KVM_GET_SUPPORTED_CPUID");
  }
  CpuidTable table;
  for (uint32_t index = 0; index < buffer.count(); ++index) table.push_back(buffer.entry(index));
  return table;
}

CpuidTable KvmSystem::SupportedHvCpuid() const {
  CpuidBuffer buffer(kMaxHvCpuidEntries);
  if (ioctl(fd_.get(), pvops_kvm_ioctl_get_supported_hv_cpuid, buffer.get()) < 0) {
    ThrowErrno("KVM_GET_SUPPORTED_HV_CPUID");
  }
  CpuidTable table;
  for (uint32_t index = 0; index < buffer.count(); ++index) table.push_back(buffer.entry(index));
  return table;
}

size_t KvmSystem::VcpuMmapSize() const {
  const int size = ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, nullptr);
  if (size <= 0) ThrowErrno("KVM_GET_VCPU_MMAP_SIZE");
  return static_cast<size_t>(size);
}

std::vector<uint32_t> KvmSystem::MsrIndexList() const {
  // First the count (KVM answers E2BIG with nmsrs set), then the list.
  std::vector<uint8_t> bytes(pvops_kvm_msr_list_indices_offset);
  if (ioctl(fd_.get(), pvops_kvm_ioctl_get_msr_index_list, bytes.data()) == 0) return {};
  if (errno != E2BIG) ThrowErrno("KVM_GET_MSR_INDEX_LIST");
  uint32_t count;
  std::memcpy(&count, bytes.data(), sizeof(count));
  bytes.resize(pvops_kvm_msr_list_indices_offset + count * sizeof(uint32_t));
  if (ioctl(fd_.get(), pvops_kvm_ioctl_get_msr_index_list, bytes.data()) < 0)
    ThrowErrno("KVM_GET_MSR_INDEX_LIST");
  std::memcpy(&count, bytes.data(), sizeof(count));
  std::vector<uint32_t> indices(count);
  std::memcpy(indices.data(), bytes.data() + pvops_kvm_msr_list_indices_offset,
              count * sizeof(uint32_t));
  return indices;
}

Vm::Vm(const KvmSystem& kvm) : kvm_(kvm), fd_(ioctl(kvm.fd(), KVM_CREATE_VM, 0)) {
  if (!fd_.valid()) ThrowErrno("KVM_CREATE_VM");
}

int Vm::CheckExtension(long capability) const {
  return ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
}

void Vm::EnableCapability(uint32_t capability, uint64_t argument) {
  EnableCap(fd_.get(), capability, argument, "VM");
}

void Vm::SetUserMemory(uint32_t slot, uint64_t guest_physical, uint64_t size, void* host) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = guest_physical;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
    ThrowErrno("KVM_SET_USER_MEMORY_REGION");
}

void Vm::CreateIrqchip() {
  if (ioctl(fd_.get(), KVM_CREATE_IRQCHIP, nullptr) < 0) ThrowErrno("KVM_CREATE_IRQCHIP");
}

void Vm::SetGsiRouting(const std::vector<kvm_irq_routing_entry>& routes) {
  // struct kvm_irq_routing as the kernel lays it out: nr, flags, then the entries (kvm_uapi.h).
  const size_t entries_bytes = routes.size() * sizeof(kvm_irq_routing_entry);
  std::vector<uint8_t> bytes(pvops_kvm_irq_routing_entries_offset + entries_bytes);
  const auto count = static_cast<uint32_t>(routes.size());
  std::memcpy(bytes.data(), &count, sizeof(count));  // flags stay 0
  std::memcpy(bytes.data() + pvops_kvm_irq_routing_entries_offset, routes.data(), entries_bytes);
  if (ioctl(fd_.get(), pvops_kvm_ioctl_set_gsi_routing, bytes.data()) < 0) {
    ThrowErrno("KVM_SET_GSI_ROUTING");
  }
}

void Vm::SetIrqLine(uint32_t gsi, bool asserted) {
  kvm_irq_level level{};
  level.irq = gsi;
  level.level = asserted ? 1 : 0;
  if (ioctl(fd_.get(), KVM_IRQ_LINE, &level) < 0) {
    ThrowErrno(absl::StrFormat("KVM_IRQ_LINE %u", gsi));
  }
}

void Vm::CreatePit() {
  kvm_pit_config config{};
  // With this flag KVM also serves port 0x61 (channel 2 gate and output): a guest calibrating
  // its TSC against PIT channel 2 polls it.
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) ThrowErrno("KVM_CREATE_PIT2");
}

void Vm::SetTssAddress(uint64_t address) {
  if (ioctl(fd_.get(), KVM_SET_TSS_ADDR, address) < 0) ThrowErrno("KVM_SET_TSS_ADDR");
}

UniqueFd Vm::OpenStatsFd() { return OpenStats(fd_.get(), "VM"); }

void Vm::SetXenHvmConfig(const kvm_xen_hvm_config& config) {
  if (ioctl(fd_.get(), KVM_XEN_HVM_CONFIG, &config) < 0) ThrowErrno("KVM_XEN_HVM_CONFIG");
}

int Vm::SetXenAttr(const kvm_xen_hvm_attr& attr) {
  return ioctl(fd_.get(), KVM_XEN_HVM_SET_ATTR, &attr) < 0 ? -errno : 0;
}

int Vm::SendXenEvent(uint32_t port, uint32_t vcpu) {
  kvm_irq_routing_xen_evtchn event{};
  event.port = port;
  event.vcpu = vcpu;
  event.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
  return ioctl(fd_.get(), KVM_XEN_HVM_EVTCHN_SEND, &event) < 0 ? -errno : 0;
}

uint64_t Vm::ClockNs() {
  kvm_clock_data clock{};
  if (ioctl(fd_.get(), KVM_GET_CLOCK, &clock) < 0) ThrowErrno("KVM_GET_CLOCK");
  return clock.clock;
}

kvm_clock_data Vm::GetClock() {
  return GetState<kvm_clock_data>(fd_.get(), KVM_GET_CLOCK, "KVM_GET_CLOCK");
}

void Vm::SetClock(const kvm_clock_data& clock) {
  SetState(fd_.get(), KVM_SET_CLOCK, clock, "KVM_SET_CLOCK");
}

bool Vm::SignalMsi(uint64_t address, uint32_t data) {
  kvm_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  const int delivered = ioctl(fd_.get(), KVM_SIGNAL_MSI, &msi);
  if (delivered < 0) ThrowErrno("KVM_SIGNAL_MSI");
  return delivered > 0;
}

kvm_irqchip Vm::GetIrqchip(uint32_t chip_id) {
  kvm_irqchip chip{};
  chip.chip_id = chip_id;
  if (ioctl(fd_.get(), KVM_GET_IRQCHIP, &chip) < 0)
    ThrowErrno(absl::StrFormat("KVM_GET_IRQCHIP %u", chip_id));
  return chip;
}

void Vm::SetIrqchip(const kvm_irqchip& chip) {
  if (ioctl(fd_.get(), KVM_SET_IRQCHIP, &chip) < 0)
    ThrowErrno(absl::StrFormat("KVM_SET_IRQCHIP %u", chip.chip_id));
}

kvm_pit_state2 Vm::GetPit() {
  return GetState<kvm_pit_state2>(fd_.get(), KVM_GET_PIT2, "KVM_GET_PIT2");
}

void Vm::SetPit(const kvm_pit_state2& pit) {
  SetState(fd_.get(), KVM_SET_PIT2, pit, "KVM_SET_PIT2");
}

Vcpu::Vcpu(Vm& vm, uint32_t id) : id_(id), fd_(ioctl(vm.fd(), KVM_CREATE_VCPU, id)) {
  if (!fd_.valid()) ThrowErrno(absl::StrFormat("KVM_CREATE_VCPU %u", id));
  run_size_ = vm.kvm().VcpuMmapSize();
  void* mapping = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (mapping == MAP_FAILED) ThrowErrno(absl::StrFormat("mmap of vCPU %u's kvm_run", id));
  run_ = static_cast<kvm_run*>(mapping);
}

Vcpu::~Vcpu() {
  if (run_ != nullptr) munmap(run_, run_size_);
}

void Vcpu::SetCpuid(const CpuidTable& table) {
  CpuidBuffer buffer(static_cast<uint32_t>(table.size()));
  for (uint32_t index = 0; index < table.size(); ++index) buffer.set_entry(index, table[index]);
  if (ioctl(fd_.get(), pvops_kvm_ioctl_set_cpuid2, buffer.get()) < 0) {
    ThrowErrno(absl::StrFormat("KVM_SET_CPUID2 on vCPU %u", id_));
  }
}

kvm_regs Vcpu::GetRegs() {
  kvm_regs regs{};
  if (ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) ThrowErrno("KVM_GET_REGS");
  return regs;
}

void Vcpu::SetRegs(const kvm_regs& regs) {
  if (ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) ThrowErrno("KVM_SET_REGS");
}

kvm_sregs Vcpu::GetSregs() {
  kvm_sregs sregs{};
  if (ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) ThrowErrno("KVM_GET_SREGS");
  return sregs;
}

void Vcpu::SetSregs(const kvm_sregs& sregs) {
  if (ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) ThrowErrno("KVM_SET_SREGS");
}

kvm_mp_state Vcpu::GetMpState() {
  kvm_mp_state state{};
  if (ioctl(fd_.get(), KVM_GET_MP_STATE, &state) < 0) ThrowErrno("KVM_GET_MP_STATE");
  return state;
}

void Vcpu::SetMpState(uint32_t mp_state) {
  kvm_mp_state state{};
  state.mp_state = mp_state;
  if (ioctl(fd_.get(), KVM_SET_MP_STATE, &state) < 0)
    ThrowErrno(absl::StrFormat("KVM_SET_MP_STATE %u on vCPU %u", mp_state, id_));
}

std::vector<kvm_msr_entry> Vcpu::GetMsrs(const std::vector<uint32_t>& indices) {
  std::vector<kvm_msr_entry> read;
  size_t next = 0;
  while (next < indices.size()) {
    const size_t count = indices.size() - next;
    std::vector<uint8_t> bytes(pvops_kvm_msrs_entries_offset + count * sizeof(kvm_msr_entry));
    const auto count32 = static_cast<uint32_t>(count);
    std::memcpy(bytes.data(), &count32, sizeof(count32));
    for (size_t i = 0; i < count; ++i) {
      kvm_msr_entry entry{};
      entry.index = indices[next + i];
      std::memcpy(bytes.data() + pvops_kvm_msrs_entries_offset + i * sizeof(entry), &entry,
                  sizeof(entry));
    }
    const int done = ioctl(fd_.get(), pvops_kvm_ioctl_get_msrs, bytes.data());
    if (done < 0) ThrowErrno(absl::StrFormat("KVM_GET_MSRS on vCPU %u", id_));
    for (int i = 0; i < done; ++i) {
      kvm_msr_entry entry;
      std::memcpy(&entry, bytes.data() + pvops_kvm_msrs_entries_offset + i * sizeof(entry),
                  sizeof(entry));
      read.push_back(entry);
    }
    // KVM stops at the first MSR it cannot read: step over it.
    next += static_cast<size_t>(done) + 1;
  }
  return read;
}

size_t Vcpu::SetMsrs(const std::vector<kvm_msr_entry>& entries) {
  std::vector<uint8_t> bytes(pvops_kvm_msrs_entries_offset +
                             entries.size() * sizeof(kvm_msr_entry));
  const auto count = static_cast<uint32_t>(entries.size());
  std::memcpy(bytes.data(), &count, sizeof(count));
  std::memcpy(bytes.data() + pvops_kvm_msrs_entries_offset, entries.data(),
              entries.size() * sizeof(kvm_msr_entry));
  const int taken = ioctl(fd_.get(), pvops_kvm_ioctl_set_msrs, bytes.data());
  if (taken < 0) ThrowErrno(absl::StrFormat("KVM_SET_MSRS on vCPU %u", id_));
  return static_cast<size_t>(taken);
}

kvm_lapic_state Vcpu::GetLapic() {
  return GetState<kvm_lapic_state>(fd_.get(), KVM_GET_LAPIC, "KVM_GET_LAPIC");
}

void Vcpu::SetLapic(const kvm_lapic_state& lapic) {
  SetState(fd_.get(), KVM_SET_LAPIC, lapic, "KVM_SET_LAPIC");
}

std::vector<uint8_t> Vcpu::GetXsave(size_t bytes) {
  std::vector<uint8_t> area(std::max(bytes, pvops_kvm_xsave_size));
  const unsigned long request =
      bytes > pvops_kvm_xsave_size ? pvops_kvm_ioctl_get_xsave2 : pvops_kvm_ioctl_get_xsave;
  if (ioctl(fd_.get(), request, area.data()) < 0) ThrowErrno("KVM_GET_XSAVE(2)");
  return area;
}

void Vcpu::SetXsave(const std::vector<uint8_t>& area) {
  if (ioctl(fd_.get(), pvops_kvm_ioctl_set_xsave, area.data()) < 0) ThrowErrno("KVM_SET_XSAVE");
}

kvm_xcrs Vcpu::GetXcrs() { return GetState<kvm_xcrs>(fd_.get(), KVM_GET_XCRS, "KVM_GET_XCRS"); }

void Vcpu::SetXcrs(const kvm_xcrs& xcrs) {
  SetState(fd_.get(), KVM_SET_XCRS, xcrs, "KVM_SET_XCRS");
}

kvm_vcpu_events Vcpu::GetEvents() {
  return GetState<kvm_vcpu_events>(fd_.get(), KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS");
}

void Vcpu::SetEvents(const kvm_vcpu_events& events) {
  SetState(fd_.get(), KVM_SET_VCPU_EVENTS, events, "KVM_SET_VCPU_EVENTS");
}

kvm_debugregs Vcpu::GetDebugRegs() {
  return GetState<kvm_debugregs>(fd_.get(), KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS");
}

void Vcpu::SetDebugRegs(const kvm_debugregs& debugregs) {
  SetState(fd_.get(), KVM_SET_DEBUGREGS, debugregs, "KVM_SET_DEBUGREGS");
}

std::optional<uint64_t> Vcpu::Translate(uint64_t virtual_address) {
  kvm_translation translation{};
  translation.linear_address = virtual_address;
  if (ioctl(fd_.get(), KVM_TRANSLATE, &translation) < 0)
    ThrowErrno(absl::StrFormat("KVM_TRANSLATE on vCPU %u", id_));
  if (!translation.valid) return std::nullopt;
  return translation.physical_address;
}

uint32_t Vcpu::TscKhz() {
  const int khz = ioctl(fd_.get(), KVM_GET_TSC_KHZ, nullptr);
  if (khz <= 0) ThrowErrno(absl::StrFormat("KVM_GET_TSC_KHZ on vCPU %u", id_));
  return static_cast<uint32_t>(khz);
}

int Vcpu::SetXenAttr(const kvm_xen_vcpu_attr& attr) {
  return ioctl(fd_.get(), KVM_XEN_VCPU_SET_ATTR, &attr) < 0 ? -errno : 0;
}

void Vcpu::EnableCapability(uint32_t capability, uint64_t argument) {
  EnableCap(fd_.get(), capability, argument, absl::StrFormat("vCPU %u", id_).c_str());
}

void Vcpu::SetMsr(uint32_t index, uint64_t value) {
  // struct kvm_msrs as the kernel lays it out: nmsrs, padding, then the entries (kvm_uapi.h).
  std::vector<uint8_t> bytes(pvops_kvm_msrs_entries_offset + sizeof(kvm_msr_entry));
  const uint32_t count = 1;
  std::memcpy(bytes.data(), &count, sizeof(count));
  kvm_msr_entry entry{};
  entry.index = index;
  entry.data = value;
  std::memcpy(bytes.data() + pvops_kvm_msrs_entries_offset, &entry, sizeof(entry));
  const int written = ioctl(fd_.get(), pvops_kvm_ioctl_set_msrs, bytes.data());
  if (written < 0) ThrowErrno(absl::StrFormat("KVM_SET_MSRS %#x on vCPU %u", index, id_));
  // KVM returns how many entries it took: 0 means it refused this one.
  if (written != 1)
    throw VmmError(absl::StrFormat("KVM refused MSR %#x = %#x on vCPU %u", index, value, id_));
}

UniqueFd Vcpu::OpenStatsFd() { return OpenStats(fd_.get(), "vCPU"); }

int Vcpu::Run() {
  if (ioctl(fd_.get(), KVM_RUN, nullptr) == 0) return 0;
  if (errno == EINTR || errno == EAGAIN) return errno;
  ThrowErrno(absl::StrFormat("KVM_RUN on vCPU %u", id_));
}

}  // namespace pvops::vmm
