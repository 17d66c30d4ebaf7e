// SPDX-License-Identifier: MIT
// Xen's public headers (libxen-dev) give every number and layout below; xen_public.h first.
#include "xen_public.h"
// clang-format off: xen_public.h stays before every other Xen header
#include "xen_personality.h"

#include <xen/arch-x86/cpuid.h>
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
// clang-format on

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "console_output.h"
#include "guest_memory.h"
#include "kvm_handles.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint64_t kPageBytes = 4096;
// What XENVER_get_features submap 0 says: HVM paging is the guest's own (writable page tables,
// auto-translated physmap), events come on a callback vector, pvclock is safe, and guest
// frames are not machine frames.
constexpr uint32_t kFeatures = 1u << XENFEAT_writable_page_tables |
                               1u << XENFEAT_auto_translated_physmap |
                               1u << XENFEAT_hvm_callback_vector | 1u << XENFEAT_hvm_safe_pvclock |
                               1u << XENFEAT_not_direct_mapped;
// Not Xen: said where a guest asks for Xen's extra version.
constexpr char kExtraVersion[] = "-pvops-vmm";
static_assert(sizeof(kExtraVersion) <= sizeof(xen_extraversion_t));
// A console write beyond this is refused rather than copied (Xen itself loops in chunks).
constexpr uint64_t kMaxConsoleWrite = 64 * 1024;
// What the VMM asks of KVM_CAP_XEN_HVM; the check names the first one missing.
struct XenCapability {
  uint32_t flag;
  const char* name;
};
constexpr XenCapability kRequiredXenCapabilities[] = {
    {KVM_XEN_HVM_CONFIG_HYPERCALL_MSR, "KVM_XEN_HVM_CONFIG_HYPERCALL_MSR"},
    {KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL, "KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL"},
    {KVM_XEN_HVM_CONFIG_SHARED_INFO, "KVM_XEN_HVM_CONFIG_SHARED_INFO"},
    {KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL, "KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL"},
    {KVM_XEN_HVM_CONFIG_EVTCHN_SEND, "KVM_XEN_HVM_CONFIG_EVTCHN_SEND"},
};

// VCPU_HVM_MODE_64B's segments, as Xen sets them (its arch_set_info_hvm_guest).
constexpr uint8_t kCodeType = 0xb;  // execute/read, accessed
constexpr uint8_t kDataType = 0x3;  // read/write, accessed
constexpr uint8_t kBusyTss64Type = 0xb;
constexpr uint32_t kTssLimit = 0x67;
constexpr uint64_t kCr0Pe = 1u << 0;
constexpr uint64_t kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5;
constexpr uint64_t kEferLme = 1u << 8;
constexpr uint64_t kEferLma = 1u << 10;
constexpr uint64_t kRflagsReservedOne = 1u << 1;
constexpr uint64_t kRflagsIf = 1u << 9;

// A hypercall's answer: Xen's return value, and the end of the run it may ask for.
struct Answer {
  int64_t result;
  std::optional<PortRequest> request;
};
Answer Result(int64_t result) { return {result, std::nullopt}; }

kvm_segment FlatSegment(uint8_t type, bool code) {
  kvm_segment segment{};
  segment.limit = 0xffffffff;
  segment.type = type;
  segment.present = 1;
  segment.s = 1;
  segment.g = 1;
  segment.l = code ? 1 : 0;
  segment.db = code ? 0 : 1;
  return segment;
}

// Guest-virtual memory through `vcpu`'s page tables, page by page; false when a page is not
// mapped or not RAM. Xen reads every pointer a hypercall passes this way.
bool CopyGuest(Vcpu& vcpu, GuestMemory& memory, uint64_t address, void* bytes, uint64_t length,
               bool to_guest) {
  auto* host = static_cast<uint8_t*>(bytes);
  while (length > 0) {
    const uint64_t in_page = std::min(length, kPageBytes - address % kPageBytes);
    const std::optional<uint64_t> physical = vcpu.Translate(address);
    if (!physical) return false;
    const auto guest = memory.TryAt(*physical, in_page);
    if (!guest) return false;
    if (to_guest) {
      std::memcpy(guest->data(), host, in_page);
    } else {
      std::memcpy(host, guest->data(), in_page);
    }
    host += in_page;
    address += in_page;
    length -= in_page;
  }
  return true;
}

template <typename T>
bool ReadGuest(Vcpu& vcpu, GuestMemory& memory, uint64_t address, T* out) {
  return CopyGuest(vcpu, memory, address, out, sizeof(T), false);
}
template <typename T>
bool WriteGuest(Vcpu& vcpu, GuestMemory& memory, uint64_t address, const T& value) {
  T copy = value;
  return CopyGuest(vcpu, memory, address, &copy, sizeof(T), true);
}

class XenPersonality final : public Personality {
 public:
  explicit XenPersonality(const PersonalityOptions& options) : ports_(kXenEventPorts) {
    if (options.kvm_features_clear != 0 || options.hv_vp_index_stride != 1 ||
        options.hv_privileges_clear != 0 || options.hv_hints_clear != 0 ||
        !options.option_rom.empty()) {
      throw VmmError("personality xen takes none of the KVM, Hyper-V or ROM options");
    }
  }

  std::string_view name() const override { return "xen"; }

  void ConfigureVm(Vm& vm) override {
    if (vm.CheckExtension(KVM_CAP_XEN_HVM) <= 0)
      throw VmmError("personality xen: KVM lacks KVM_CAP_XEN_HVM");
    const auto offered = static_cast<uint32_t>(vm.CheckExtension(KVM_CAP_XEN_HVM));
    for (const auto& required : kRequiredXenCapabilities) {
      if ((offered & required.flag) == 0)
        throw VmmError(absl::StrFormat("personality xen: KVM lacks %s", required.name));
    }
    runstate_offered_ = (offered & KVM_XEN_HVM_CONFIG_RUNSTATE) != 0;
    kvm_xen_hvm_config config{};
    // KVM fills the page the guest names by this MSR; hypercalls it does not answer in-kernel
    // exit to the VMM, and EVTCHNOP_send, SCHEDOP_poll and the timer run in-kernel.
    config.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | KVM_XEN_HVM_CONFIG_EVTCHN_SEND;
    config.msr = kXenHypercallPageMsr;
    vm.SetXenHvmConfig(config);
    kvm_xen_hvm_attr version{};
    version.type = KVM_XEN_ATTR_TYPE_XEN_VERSION;
    version.u.xen_version = kXenVersion;
    if (const int rc = vm.SetXenAttr(version); rc != 0)
      throw VmmError(absl::StrFormat("KVM_XEN_ATTR_TYPE_XEN_VERSION: %s", std::strerror(-rc)));
  }

  CpuidTable BuildTable(std::span<const kvm_cpuid_entry2> supported,
                        const VcpuTopology& topology) override {
    CpuidTable table(supported.begin(), supported.end());
    ApplyTopologyAndApicFeatures(table, topology);
    RemoveHypervisorLeaves(table);
    // This VMM numbers Xen vCPUs as KVM does, by index, which is also the APIC ID.
    const CpuidTable xen = XenLeaves(topology.apic_id);
    table.insert(table.end(), xen.begin(), xen.end());
    return table;
  }

  void ConfigureVcpu(Vcpu& vcpu) override {
    // No KVM leaves, so none of KVM's own PV MSRs or hypercalls either.
    vcpu.EnableCapability(KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
    kvm_xen_vcpu_attr id{};
    id.type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID;
    id.u.vcpu_id = vcpu.id();
    if (const int rc = vcpu.SetXenAttr(id); rc != 0)
      throw VmmError(absl::StrFormat("KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID: %s", std::strerror(-rc)));
  }

  void Attach(MachineHost& machine) override {
    machine_ = &machine;
    vcpus_.assign(machine.vcpu_count(), VcpuState{});
    vcpus_[0].up = true;  // the boot vCPU enters at the PVH entry
  }

  std::optional<PortRequest> HandleXenExit(Vcpu& vcpu) override {
    kvm_xen_exit& exit = vcpu.run()->xen;
    if (exit.type != KVM_EXIT_XEN_HCALL)
      throw VmmError(absl::StrFormat("vCPU %u: KVM_EXIT_XEN of type %u", vcpu.id(), exit.type));
    ++hypercall_exits_;
    Answer answer = Result(-XEN_ENOSYS);
    if (exit.u.hcall.cpl != 0) {
      answer = Result(-XEN_EPERM);  // as Xen: HVM hypercalls are for the kernel
    } else {
      std::lock_guard lock(mutex_);
      current_ = &vcpu;
      // A 32-bit caller's structures differ: not served here.
      answer = exit.u.hcall.longmode ? Dispatch(vcpu, exit.u.hcall.input, exit.u.hcall.params)
                                     : NotServed();
    }
    exit.u.hcall.result = static_cast<uint64_t>(answer.result);
    return answer.request;
  }

  std::string StatFields() const override {
    return absl::StrCat(" vmm_xen_hcall_exits=", hypercall_exits_.load(),
                        " vmm_xen_hcall_enosys=", not_served_.load());
  }

 private:
  struct VcpuState {
    bool up = false;
    std::optional<vcpu_hvm_x86_64> context;  // VCPUOP_initialise, until VCPUOP_up
    uint32_t timer_port = 0;
  };

  // -ENOSYS, counted; the first few are named on the console, so a guest that needs more of
  // Xen says what.
  Answer NotServed() {
    if (++not_served_ <= kNamedNotServed) {
      const kvm_xen_exit& exit = current_->run()->xen;
      machine_->console().Note(absl::StrFormat(
          "xen: hypercall %u (%#x, %#x, %#x) on vCPU %u not served: -ENOSYS", exit.u.hcall.input,
          exit.u.hcall.params[0], exit.u.hcall.params[1], exit.u.hcall.params[2], current_->id()));
    }
    return Result(-XEN_ENOSYS);
  }

  Answer Dispatch(Vcpu& vcpu, uint64_t op, const __u64* args) {
    switch (op) {
      case __HYPERVISOR_console_io: return ConsoleIo(vcpu, args[0], args[1], args[2]);
      case __HYPERVISOR_xen_version: return XenVersion(vcpu, args[0], args[1]);
      case __HYPERVISOR_memory_op: return MemoryOp(vcpu, args[0], args[1]);
      case __HYPERVISOR_hvm_op: return HvmOp(vcpu, args[0], args[1]);
      case __HYPERVISOR_vcpu_op: return VcpuOp(vcpu, args[0], args[1], args[2]);
      case __HYPERVISOR_event_channel_op: return EventChannelOp(vcpu, args[0], args[1]);
      case __HYPERVISOR_sched_op: return SchedOp(vcpu, args[0], args[1]);
      case __HYPERVISOR_set_timer_op:
        // KVM serves it once VIRQ_TIMER is bound; before that the event has nowhere to go.
        return Result(0);
      default: return NotServed();
    }
  }

  template <typename T>
  bool Read(Vcpu& vcpu, uint64_t address, T* out) {
    return ReadGuest(vcpu, machine_->memory(), address, out);
  }
  template <typename T>
  bool Write(Vcpu& vcpu, uint64_t address, const T& value) {
    return WriteGuest(vcpu, machine_->memory(), address, value);
  }

  // Runs a KVM vCPU call on `target`: now when it is the caller, else on its own thread (whose
  // failure then ends the run, since the hypercall has long returned).
  int OnVcpu(Vcpu& caller, uint32_t target, std::string what, std::function<int(Vcpu&)> call) {
    if (target == caller.id()) return call(caller);
    machine_->RunOnVcpu(target, [what = std::move(what), call = std::move(call)](Vcpu& vcpu) {
      if (const int rc = call(vcpu); rc != 0)
        throw VmmError(absl::StrFormat("%s on vCPU %u: %s", what, vcpu.id(), std::strerror(-rc)));
    });
    return 0;
  }

  Answer ConsoleIo(Vcpu& vcpu, uint64_t command, uint64_t count, uint64_t buffer) {
    if (command == CONSOLEIO_read) return Result(0);  // no input to give
    if (command != CONSOLEIO_write) return NotServed();
    if (count > kMaxConsoleWrite) return Result(-XEN_EINVAL);
    std::string text(count, '\0');
    if (!CopyGuest(vcpu, machine_->memory(), buffer, text.data(), count, false))
      return Result(-XEN_EFAULT);
    for (const char c : text) machine_->console().PutGuestByte(static_cast<uint8_t>(c));
    return Result(0);
  }

  Answer XenVersion(Vcpu& vcpu, uint64_t command, uint64_t argument) {
    switch (command) {
      case XENVER_version: return Result(kXenVersion);
      case XENVER_extraversion: {
        xen_extraversion_t text{};
        std::memcpy(text, kExtraVersion, sizeof(kExtraVersion));
        return Result(CopyGuest(vcpu, machine_->memory(), argument, text, sizeof(text), true)
                          ? 0
                          : -XEN_EFAULT);
      }
      case XENVER_get_features: {
        xen_feature_info info{};
        if (!Read(vcpu, argument, &info)) return Result(-XEN_EFAULT);
        info.submap = info.submap_idx == 0 ? kFeatures : 0;
        return Result(Write(vcpu, argument, info) ? 0 : -XEN_EFAULT);
      }
      default: return NotServed();
    }
  }

  Answer MemoryOp(Vcpu& vcpu, uint64_t command, uint64_t argument) {
    if (command != XENMEM_add_to_physmap) return NotServed();
    xen_add_to_physmap add{};
    if (!Read(vcpu, argument, &add)) return Result(-XEN_EFAULT);
    if (add.domid != DOMID_SELF) return Result(-XEN_ESRCH);
    if (add.space != XENMAPSPACE_shared_info) return NotServed();
    if (add.idx != 0) return Result(-XEN_EINVAL);
    if (add.gpfn > machine_->memory().size() / kPageBytes) return Result(-XEN_EINVAL);
    const uint64_t address = add.gpfn * kPageBytes;
    const auto page = machine_->memory().TryAt(address, kPageBytes);
    if (!page) return Result(-XEN_EINVAL);
    // Xen maps a fresh page of its own there: nothing pending, nothing masked.
    std::memset(page->data(), 0, page->size());
    kvm_xen_hvm_attr shared{};
    shared.type = KVM_XEN_ATTR_TYPE_SHARED_INFO;
    shared.u.shared_info.gfn = add.gpfn;
    if (const int rc = machine_->vm().SetXenAttr(shared); rc != 0) return Result(rc);
    shared_info_address_ = address;
    // Each vCPU's vcpu_info is its slot in shared_info until it registers another one.
    const uint32_t slots = std::min<uint32_t>(machine_->vcpu_count(), XEN_LEGACY_MAX_VCPUS);
    for (uint32_t id = 0; id < slots; ++id) {
      const uint64_t slot = address + offsetof(shared_info, vcpu_info) + id * sizeof(::vcpu_info);
      if (const int rc = SetVcpuInfo(vcpu, id, slot); rc != 0) return Result(rc);
    }
    return Result(0);
  }

  int SetVcpuInfo(Vcpu& caller, uint32_t target, uint64_t address) {
    return OnVcpu(caller, target, "KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO", [address](Vcpu& vcpu) {
      kvm_xen_vcpu_attr attr{};
      attr.type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO;
      attr.u.gpa = address;
      return vcpu.SetXenAttr(attr);
    });
  }

  Answer HvmOp(Vcpu& vcpu, uint64_t command, uint64_t argument) {
    if (command == HVMOP_get_time) {
      xen_hvm_get_time time{};
      time.now = machine_->vm().ClockNs();
      return Result(Write(vcpu, argument, time) ? 0 : -XEN_EFAULT);
    }
    if (command != HVMOP_set_param && command != HVMOP_get_param) return NotServed();
    xen_hvm_param param{};
    if (!Read(vcpu, argument, &param)) return Result(-XEN_EFAULT);
    if (param.domid != DOMID_SELF) return Result(-XEN_ESRCH);
    if (param.index != HVM_PARAM_CALLBACK_IRQ) return NotServed();
    if (command == HVMOP_get_param) {
      param.value = callback_irq_;
      return Result(Write(vcpu, argument, param) ? 0 : -XEN_EFAULT);
    }
    const uint64_t type = param.value >> 56;
    if (param.value != 0 && type != HVM_PARAM_CALLBACK_TYPE_VECTOR) return NotServed();
    kvm_xen_hvm_attr vector{};
    vector.type = KVM_XEN_ATTR_TYPE_UPCALL_VECTOR;
    vector.u.vector = static_cast<uint8_t>(param.value & 0xff);  // 0: no more upcalls
    if (param.value != 0 && vector.u.vector < 0x10) return Result(-XEN_EINVAL);
    if (const int rc = machine_->vm().SetXenAttr(vector); rc != 0) return Result(rc);
    callback_irq_ = param.value;
    return Result(0);
  }

  Answer VcpuOp(Vcpu& vcpu, uint64_t command, uint64_t target, uint64_t argument) {
    if (target >= vcpus_.size()) return Result(-XEN_ENOENT);
    const auto id = static_cast<uint32_t>(target);
    VcpuState& state = vcpus_[id];
    switch (command) {
      case VCPUOP_initialise: return InitialiseVcpu(vcpu, state, argument);
      case VCPUOP_up: return UpVcpu(vcpu, id, state);
      case VCPUOP_is_up: return Result(state.up ? 1 : 0);
      case VCPUOP_stop_periodic_timer: return Result(0);  // an HVM vCPU has none running
      case VCPUOP_set_singleshot_timer:
      case VCPUOP_stop_singleshot_timer:
        // KVM serves these once VIRQ_TIMER is bound (and refuses another vCPU's itself).
        return Result(id == vcpu.id() ? 0 : -XEN_EINVAL);
      case VCPUOP_register_runstate_memory_area: return RegisterRunstate(vcpu, id, argument);
      case VCPUOP_register_vcpu_info: return RegisterVcpuInfo(vcpu, id, argument);
      default: return NotServed();
    }
  }

  Answer InitialiseVcpu(Vcpu& vcpu, VcpuState& state, uint64_t argument) {
    vcpu_hvm_context context{};
    if (!Read(vcpu, argument, &context)) return Result(-XEN_EFAULT);
    if (state.up || state.context) return Result(-XEN_EEXIST);
    if (context.mode != VCPU_HVM_MODE_64B) return NotServed();
    const vcpu_hvm_x86_64& regs = context.cpu_regs.x86_64;
    // Long mode as VCPU_HVM_MODE_64B promises it; anything else KVM would refuse later.
    const bool long_mode = (regs.cr0 & (kCr0Pe | kCr0Pg)) == (kCr0Pe | kCr0Pg) &&
                           (regs.cr4 & kCr4Pae) != 0 && (regs.efer & kEferLme) != 0;
    if (!long_mode || regs.cr3 % kPageBytes != 0 || regs.cr3 >= machine_->memory().size())
      return Result(-XEN_EINVAL);
    state.context = regs;
    return Result(0);
  }

  Answer UpVcpu(Vcpu& vcpu, uint32_t id, VcpuState& state) {
    if (state.up) return Result(0);
    if (!state.context) return Result(-XEN_EINVAL);
    state.up = true;
    const vcpu_hvm_x86_64 regs = *state.context;
    machine_->RunOnVcpu(id, [regs](Vcpu& target) {
      kvm_sregs sregs = target.GetSregs();
      sregs.cs = FlatSegment(kCodeType, true);
      sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs = FlatSegment(kDataType, false);
      kvm_segment task{};
      task.limit = kTssLimit;
      task.type = kBusyTss64Type;
      task.present = 1;
      sregs.tr = task;
      sregs.cr0 = regs.cr0;
      sregs.cr3 = regs.cr3;
      sregs.cr4 = regs.cr4;
      sregs.efer = regs.efer | kEferLma;
      target.SetSregs(sregs);
      kvm_regs gprs{};
      gprs.rax = regs.rax, gprs.rbx = regs.rbx, gprs.rcx = regs.rcx, gprs.rdx = regs.rdx;
      gprs.rsi = regs.rsi, gprs.rdi = regs.rdi, gprs.rsp = regs.rsp, gprs.rbp = regs.rbp;
      gprs.rip = regs.rip;
      gprs.rflags = regs.rflags | kRflagsReservedOne;
      target.SetRegs(gprs);
      target.SetMpState(KVM_MP_STATE_RUNNABLE);
    });
    (void)vcpu;
    return Result(0);
  }

  Answer RegisterRunstate(Vcpu& vcpu, uint32_t id, uint64_t argument) {
    if (!runstate_offered_) return NotServed();
    vcpu_register_runstate_memory_area area{};
    if (!Read(vcpu, argument, &area)) return Result(-XEN_EFAULT);
    // Xen keeps the guest-virtual address; KVM wants a physical one: translated now, and the
    // area must be physically contiguous.
    const uint64_t start = area.addr.p;
    const uint64_t last = start + sizeof(vcpu_runstate_info) - 1;
    const std::optional<uint64_t> physical = vcpu.Translate(start);
    const std::optional<uint64_t> physical_last = vcpu.Translate(last);
    if (!physical || !physical_last || *physical_last - *physical != last - start ||
        !machine_->memory().TryAt(*physical, sizeof(vcpu_runstate_info)))
      return Result(-XEN_EFAULT);
    return Result(OnVcpu(vcpu, id, "KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR",
                         [address = *physical](Vcpu& target) {
                           kvm_xen_vcpu_attr attr{};
                           attr.type = KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR;
                           attr.u.gpa = address;
                           return target.SetXenAttr(attr);
                         }));
  }

  Answer RegisterVcpuInfo(Vcpu& vcpu, uint32_t id, uint64_t argument) {
    vcpu_register_vcpu_info info{};
    if (!Read(vcpu, argument, &info)) return Result(-XEN_EFAULT);
    if (info.offset > kPageBytes - sizeof(::vcpu_info) ||
        info.mfn > machine_->memory().size() / kPageBytes ||
        !machine_->memory().TryAt(info.mfn * kPageBytes + info.offset, sizeof(::vcpu_info)))
      return Result(-XEN_EINVAL);
    return Result(SetVcpuInfo(vcpu, id, info.mfn * kPageBytes + info.offset));
  }

  Answer EventChannelOp(Vcpu& vcpu, uint64_t command, uint64_t argument) {
    switch (command) {
      case EVTCHNOP_bind_virq: {
        evtchn_bind_virq bind{};
        if (!Read(vcpu, argument, &bind)) return Result(-XEN_EFAULT);
        if (bind.vcpu >= vcpus_.size()) return Result(-XEN_ENOENT);
        if (bind.virq >= NR_VIRQS) return Result(-XEN_EINVAL);
        if (ports_.FindVirq(bind.vcpu, bind.virq)) return Result(-XEN_EEXIST);
        const auto port = ports_.Bind({XenPort::Kind::kVirq, bind.vcpu, bind.virq});
        if (!port) return Result(-XEN_ENOSPC);
        if (bind.virq == VIRQ_TIMER) {
          if (const int rc = SetTimerPort(vcpu, bind.vcpu, *port); rc != 0) {
            ports_.Close(*port);
            return Result(rc);
          }
        }
        bind.port = *port;
        return Result(Write(vcpu, argument, bind) ? 0 : -XEN_EFAULT);
      }
      case EVTCHNOP_bind_ipi: {
        evtchn_bind_ipi bind{};
        if (!Read(vcpu, argument, &bind)) return Result(-XEN_EFAULT);
        if (bind.vcpu >= vcpus_.size()) return Result(-XEN_ENOENT);
        const auto port = ports_.Bind({XenPort::Kind::kIpi, bind.vcpu, 0});
        if (!port) return Result(-XEN_ENOSPC);
        // Told of the port, KVM answers EVTCHNOP_send on it in-kernel.
        kvm_xen_hvm_attr attr{};
        attr.type = KVM_XEN_ATTR_TYPE_EVTCHN;
        attr.u.evtchn.send_port = *port;
        attr.u.evtchn.type = EVTCHNSTAT_ipi;
        attr.u.evtchn.deliver.port.port = *port;
        attr.u.evtchn.deliver.port.vcpu = bind.vcpu;
        attr.u.evtchn.deliver.port.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
        if (const int rc = machine_->vm().SetXenAttr(attr); rc != 0) {
          ports_.Close(*port);
          return Result(rc);
        }
        bind.port = *port;
        return Result(Write(vcpu, argument, bind) ? 0 : -XEN_EFAULT);
      }
      case EVTCHNOP_send: {
        // KVM sends on the ports it knows; what reaches here is not an IPI port.
        evtchn_send send{};
        if (!Read(vcpu, argument, &send)) return Result(-XEN_EFAULT);
        const XenPort* port = ports_.Find(send.port);
        if (port == nullptr || port->kind != XenPort::Kind::kIpi) return Result(-XEN_EINVAL);
        return Result(machine_->vm().SendXenEvent(send.port, port->vcpu));
      }
      case EVTCHNOP_close: {
        evtchn_close close{};
        if (!Read(vcpu, argument, &close)) return Result(-XEN_EFAULT);
        const XenPort* found = ports_.Find(close.port);
        if (found == nullptr) return Result(-XEN_EINVAL);
        const XenPort port = *found;
        if (port.kind == XenPort::Kind::kIpi) {
          kvm_xen_hvm_attr attr{};
          attr.type = KVM_XEN_ATTR_TYPE_EVTCHN;
          attr.u.evtchn.send_port = close.port;
          attr.u.evtchn.flags = KVM_XEN_EVTCHN_DEASSIGN;
          if (const int rc = machine_->vm().SetXenAttr(attr); rc != 0) return Result(rc);
        } else if (port.virq == VIRQ_TIMER) {
          if (const int rc = SetTimerPort(vcpu, port.vcpu, 0); rc != 0) return Result(rc);
        }
        ports_.Close(close.port);
        if (volatile shared_info* shared = SharedInfo())
          __atomic_fetch_and(&shared->evtchn_pending[close.port / kBitsPerWord],
                             ~PortBit(close.port), __ATOMIC_SEQ_CST);
        return Result(0);
      }
      case EVTCHNOP_unmask: {
        evtchn_unmask unmask{};
        if (!Read(vcpu, argument, &unmask)) return Result(-XEN_EFAULT);
        if (unmask.port == 0 || unmask.port >= ports_.size()) return Result(-XEN_EINVAL);
        Unmask(unmask.port);
        return Result(0);
      }
      default: return NotServed();
    }
  }

  static constexpr uint32_t kBitsPerWord = sizeof(xen_ulong_t) * 8;
  static xen_ulong_t PortBit(uint32_t port) { return xen_ulong_t{1} << (port % kBitsPerWord); }

  volatile shared_info* SharedInfo() {
    if (!shared_info_address_) return nullptr;
    const auto page = machine_->memory().TryAt(*shared_info_address_, sizeof(shared_info));
    return page ? reinterpret_cast<volatile shared_info*>(page->data()) : nullptr;
  }

  // Xen's 2-level unmask (its evtchn_2l_unmask): only a port that was masked and is pending
  // raises the upcall, on the vCPU it is bound to.
  void Unmask(uint32_t port) {
    volatile shared_info* shared = SharedInfo();
    if (shared == nullptr) return;
    const uint32_t word = port / kBitsPerWord;
    const xen_ulong_t bit = PortBit(port);
    if ((__atomic_fetch_and(&shared->evtchn_mask[word], ~bit, __ATOMIC_SEQ_CST) & bit) == 0) return;
    if ((__atomic_load_n(&shared->evtchn_pending[word], __ATOMIC_SEQ_CST) & bit) == 0) return;
    const XenPort* bound = ports_.Find(port);
    const uint32_t target = bound != nullptr ? bound->vcpu : 0;
    if (target >= XEN_LEGACY_MAX_VCPUS) return;
    volatile vcpu_info& info = shared->vcpu_info[target];
    const xen_ulong_t selector = xen_ulong_t{1} << word;
    if ((__atomic_fetch_or(&info.evtchn_pending_sel, selector, __ATOMIC_SEQ_CST) & selector) != 0)
      return;
    __atomic_store_n(&info.evtchn_upcall_pending, uint8_t{1}, __ATOMIC_SEQ_CST);
    // KVM looks at upcall_pending on every entry: the target only needs to re-enter.
    machine_->RunOnVcpu(target, [](Vcpu&) {});
  }

  int SetTimerPort(Vcpu& caller, uint32_t target, uint32_t port) {
    vcpus_[target].timer_port = port;
    return OnVcpu(caller, target, "KVM_XEN_VCPU_ATTR_TYPE_TIMER", [port](Vcpu& vcpu) {
      kvm_xen_vcpu_attr attr{};
      attr.type = KVM_XEN_VCPU_ATTR_TYPE_TIMER;
      attr.u.timer.port = port;
      attr.u.timer.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
      return vcpu.SetXenAttr(attr);
    });
  }

  Answer SchedOp(Vcpu& vcpu, uint64_t command, uint64_t argument) {
    switch (command) {
      case SCHEDOP_yield:
      case SCHEDOP_poll:  // KVM polls in-kernel; an early return is allowed
        return Result(0);
      case SCHEDOP_block: {
        // Events on, then sleep until one comes: KVM halts the vCPU until an interrupt,
        // which includes the upcall.
        kvm_regs regs = vcpu.GetRegs();
        regs.rflags |= kRflagsIf;
        vcpu.SetRegs(regs);
        vcpu.SetMpState(KVM_MP_STATE_HALTED);
        return Result(0);
      }
      case SCHEDOP_shutdown: {
        sched_shutdown shutdown{};
        if (!Read(vcpu, argument, &shutdown)) return Result(-XEN_EFAULT);
        const char* reason = shutdown.reason == SHUTDOWN_poweroff ? "poweroff"
                             : shutdown.reason == SHUTDOWN_reboot ? "reboot"
                             : shutdown.reason == SHUTDOWN_crash  ? "crash"
                                                                  : "other";
        return {0, MachineStopRequest{.power_off = shutdown.reason == SHUTDOWN_poweroff,
                                      .how = absl::StrFormat("Xen SCHEDOP_shutdown, reason %u (%s)",
                                                             shutdown.reason, reason)}};
      }
      default: return NotServed();
    }
  }

  static constexpr uint64_t kNamedNotServed = 8;

  MachineHost* machine_ = nullptr;
  bool runstate_offered_ = false;
  std::mutex mutex_;         // hypercalls from every vCPU thread: the state below
  Vcpu* current_ = nullptr;  // whose hypercall is being answered
  XenPortTable ports_;
  std::vector<VcpuState> vcpus_;
  std::optional<uint64_t> shared_info_address_;
  uint64_t callback_irq_ = 0;
  std::atomic<uint64_t> hypercall_exits_{0};
  std::atomic<uint64_t> not_served_{0};
};

}  // namespace

CpuidTable XenLeaves(uint32_t xen_vcpu_id) {
  constexpr uint32_t kLastLeaf = XEN_CPUID_LEAF(4);
  return {
      CpuidLeaf(XEN_CPUID_LEAF(0), 0, kLastLeaf, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX,
                XEN_CPUID_SIGNATURE_EDX),
      CpuidLeaf(XEN_CPUID_LEAF(1), 0, kXenVersion),
      CpuidLeaf(XEN_CPUID_LEAF(2), 0, /*pages=*/1, kXenHypercallPageMsr),
      // The time leaf: sub-leaf 0 says "no emulated TSC"; KVM writes the TSC-to-ns scale into
      // sub-leaf 1 and the TSC kHz into sub-leaf 2 (kvm_xen_update_tsc_info).
      CpuidLeaf(XEN_CPUID_LEAF(3), 0, 0, 0, 0, 0, true),
      CpuidLeaf(XEN_CPUID_LEAF(3), 1, 0, 0, 0, 0, true),
      CpuidLeaf(XEN_CPUID_LEAF(3), 2, 0, 0, 0, 0, true),
      CpuidLeaf(XEN_CPUID_LEAF(4), 0, XEN_HVM_CPUID_VCPU_ID_PRESENT, xen_vcpu_id),
  };
}

std::optional<uint32_t> XenPortTable::Bind(const XenPort& port) {
  for (uint32_t number = 1; number < ports_.size(); ++number) {
    if (ports_[number].kind != XenPort::Kind::kFree) continue;
    ports_[number] = port;
    return number;
  }
  return std::nullopt;
}

std::optional<uint32_t> XenPortTable::FindVirq(uint32_t vcpu, uint32_t virq) const {
  for (uint32_t number = 1; number < ports_.size(); ++number) {
    const XenPort& port = ports_[number];
    if (port.kind == XenPort::Kind::kVirq && port.vcpu == vcpu && port.virq == virq) return number;
  }
  return std::nullopt;
}

const XenPort* XenPortTable::Find(uint32_t port) const {
  if (port == 0 || port >= ports_.size() || ports_[port].kind == XenPort::Kind::kFree)
    return nullptr;
  return &ports_[port];
}

bool XenPortTable::Close(uint32_t port) {
  if (Find(port) == nullptr) return false;
  ports_[port] = XenPort{};
  return true;
}

std::unique_ptr<Personality> MakeXenPersonality(const PersonalityOptions& options) {
  return std::make_unique<XenPersonality>(options);
}

}  // namespace pvops::vmm
