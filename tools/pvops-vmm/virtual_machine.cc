#include "virtual_machine.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "acpi_tables.h"
#include "irq_routing.h"
#include "kvm_stats.h"
#include "kvm_stats_port.h"
#include "pvh_entry.h"
#include "pvh_image.h"
#include "reset_vector.h"
#include "start_info.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint32_t kRamSlot = 0;
// Intel VMX needs three pages for real-mode emulation below 4 GiB, outside RAM (QEMU's choice).
constexpr uint64_t kVmxTssAddress = 0xfffbd000;
// Kicks a vCPU thread out of KVM_RUN; the handler does nothing, the interruption is the point.
constexpr int kKickSignal = SIGUSR1;
constexpr uint64_t kHvStatusInvalidHypercallCode = 2;  // TLFS hypercall status
// Where a vCPU starts after RESET (CS:IP f000:fff0): KVM on AMD puts a vCPU there after a
// shutdown intercept, so its registers no longer say where the triple fault happened.
constexpr uint64_t kResetRip = 0xfff0;
constexpr uint16_t kResetCodeSelector = 0xf000;

static_assert(kAcpiTablesAddress >= kLowRamEnd && kAcpiTablesEnd <= kResetVectorAddress &&
                  kResetVectorEnd <= kHighRamStart,
              "the ACPI tables and the reset vector must lie in the hole the memory map reserves "
              "below 1 MiB");

void IgnoreKick(int) {}

void InstallKickHandler() {
  struct sigaction action {};
  action.sa_handler = IgnoreKick;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
  sigaction(kKickSignal, &action, nullptr);
}

const char* SystemEventName(uint32_t type) {
  switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN: return "shutdown";
    case KVM_SYSTEM_EVENT_RESET: return "reset";
    case KVM_SYSTEM_EVENT_CRASH: return "crash";
    default: return "other";
  }
}

// The image may not overwrite what the VMM or the personality places in memory for the guest.
void CheckImageClearOfVmmData(const PvhImage& image, std::vector<GuestRange> reserved) {
  reserved.push_back({kBootInfoAddress, kBootInfoEnd, "the boot info pages"});
  reserved.push_back({kAcpiTablesAddress, kAcpiTablesEnd, "the ACPI tables"});
  reserved.push_back({kResetVectorAddress, kResetVectorEnd, "the reset vector"});
  for (const auto& segment : image.segments) {
    const uint64_t end = segment.physical_address + segment.memory_size;
    for (const GuestRange& range : reserved) {
      if (segment.physical_address < range.end && end > range.start) {
        throw VmmError(absl::StrFormat("image segment [%#x, %#x) overlaps %s [%#x, %#x)",
                                       segment.physical_address, end, range.what, range.start,
                                       range.end));
      }
    }
  }
}

}  // namespace

VirtualMachine::VirtualMachine(const VmConfig& config, std::span<const uint8_t> image,
                               Personality& personality, ConsoleOutput& console)
    : config_(config),
      personality_(personality),
      console_(console),
      vm_(kvm_),
      memory_(config.memory_bytes),
      ports_(console, [this](uint32_t irq, bool asserted) { vm_.SetIrqLine(irq, asserted); }) {
  if (config.vcpu_count == 0 || config.vcpu_count > 255) {
    throw VmmError(absl::StrFormat("--cpus=%u: between 1 and 255 (xAPIC IDs)", config.vcpu_count));
  }
  if (kvm_.CheckExtension(KVM_CAP_IMMEDIATE_EXIT) <= 0)
    throw VmmError("KVM lacks KVM_CAP_IMMEDIATE_EXIT");
  if (kvm_.CheckExtension(KVM_CAP_BINARY_STATS_FD) <= 0)
    throw VmmError("KVM lacks KVM_CAP_BINARY_STATS_FD");

  const PvhImage pvh = ParsePvhImage(image);
  CheckImageClearOfVmmData(pvh, personality.ReservedRanges());
  LoadPvhImage(pvh, image, memory_);
  personality.FillGuestMemory(memory_);
  BootExtras boot_extras;
  if (!config.initrd.empty()) {
    boot_extras.initrd = LoadInitrd(memory_, config.initrd, pvh.EndAddress());
  }
  boot_extras.rsdp_address = WriteAcpiTables(memory_, config.vcpu_count);
  WriteResetVector(memory_);
  const uint64_t start_info = WriteStartInfo(memory_, config.command_line, boot_extras);

  if (vm_.CheckExtension(KVM_CAP_SET_TSS_ADDR) > 0) vm_.SetTssAddress(kVmxTssAddress);
  vm_.SetUserMemory(kRamSlot, 0, memory_.size(), memory_.host_base());
  // In-kernel LAPIC, IOAPIC and PIC: IPIs, timers and EOIs are KVM's own. Must precede vCPUs.
  vm_.CreateIrqchip();
  vm_.SetGsiRouting(BuildPcIrqRouting());  // the PIT on IOAPIC pin 2, as the MADT says
  // The in-kernel i8254 too, so the guest finds the PC's timer devices it finds under QEMU.
  if (vm_.CheckExtension(KVM_CAP_PIT2) <= 0) throw VmmError("KVM lacks KVM_CAP_PIT2");
  vm_.CreatePit();
  personality.ConfigureVm(vm_);
  vm_stats_ = vm_.OpenStatsFd();

  const CpuidTable supported = kvm_.SupportedCpuid();
  for (uint32_t id = 0; id < config.vcpu_count; ++id) {
    auto vcpu = std::make_unique<Vcpu>(vm_, id);
    vcpu->SetCpuid(
        personality.BuildTable(supported, {.apic_id = id, .vcpu_count = config.vcpu_count}));
    personality.ConfigureVcpu(*vcpu);
    VcpuSlot slot;
    slot.stats = vcpu->OpenStatsFd();
    slot.vcpu = std::move(vcpu);
    slot.work = std::make_unique<VcpuWork>();
    vcpus_.push_back(std::move(slot));
  }
  personality.Attach(*this);
  // Only the bootstrap processor gets the PVH entry state; the others stay in KVM's
  // UNINITIALIZED state until the guest's INIT-SIPI-SIPI reaches the in-kernel LAPIC.
  Vcpu& boot = *vcpus_[0].vcpu;
  boot.SetSregs(PvhEntrySregs(boot.GetSregs()));
  boot.SetRegs(PvhEntryRegs(pvh.phys32_entry, start_info));
}

VirtualMachine::~VirtualMachine() {
  StopAll();
  for (auto& slot : vcpus_) {
    if (slot.thread.joinable()) slot.thread.join();
  }
}

RunResult VirtualMachine::Run() {
  InstallKickHandler();
  const auto started = std::chrono::steady_clock::now();
  for (auto& slot : vcpus_) {
    slot.thread = std::thread([this, &slot] {
      if (config_.vcpus_on_host_cpu >= 0 && !PinToHostCpu(*slot.vcpu, config_.vcpus_on_host_cpu))
        return;
      slot.work->thread.store(pthread_self());
      VcpuLoop(slot);
    });
  }
  bool timed_out = false;
  {
    std::unique_lock lock(finish_mutex_);
    const auto done = [this] { return finished_; };
    if (config_.timeout.count() > 0) {
      timed_out = !finished_signal_.wait_for(lock, config_.timeout, done);
    } else {
      finished_signal_.wait(lock, done);
    }
    finished_ = true;  // a vCPU ending the run after the timeout is ignored
  }
  const auto ended = std::chrono::steady_clock::now();
  StopAll();
  for (auto& slot : vcpus_) slot.thread.join();

  RunResult result;
  using std::chrono::duration_cast, std::chrono::milliseconds;
  result.run_time = duration_cast<milliseconds>(ended - started);
  result.stop_time = duration_cast<milliseconds>(std::chrono::steady_clock::now() - ended);
  if (timed_out) {
    std::string where;
    for (auto& slot : vcpus_) where += " " + DescribeVcpu(*slot.vcpu);
    result.fault_reason = absl::StrFormat("timeout: the guest did not end within %d s;%s",
                                          config_.timeout.count(), where);
  } else {
    result.guest_exit = guest_exit_;
    result.fault_reason = fault_reason_;
    result.fault_line = fault_line_;
  }
  AddEventCounters(ReadKvmStats(vm_stats_.get()), result.kvm_counters);
  for (auto& slot : vcpus_) AddEventCounters(ReadKvmStats(slot.stats.get()), result.kvm_counters);
  result.unhandled_port_accesses = ports_.unhandled_accesses();
  result.unhandled_mmio_accesses = unhandled_mmio_.load();
  result.hyperv_synic_exits = hyperv_synic_exits_.load();
  result.hyperv_hcall_exits = hyperv_hcall_exits_.load();
  result.personality_stats = personality_.StatFields();
  return result;
}

bool VirtualMachine::PinToHostCpu(const Vcpu& vcpu, int host_cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(host_cpu, &set);
  if (const int error = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); error != 0) {
    // Running unpinned would quietly measure a different machine: end the run instead.
    Finish(std::nullopt, absl::StrFormat("vCPU %u: cannot pin to host CPU %d: %s", vcpu.id(),
                                         host_cpu, std::strerror(error)));
    return false;
  }
  return true;
}

void VirtualMachine::RunOnVcpu(uint32_t id, std::function<void(Vcpu&)> work) {
  if (id >= vcpus_.size()) throw VmmError(absl::StrFormat("no vCPU %u to run work on", id));
  VcpuSlot& slot = vcpus_[id];
  {
    std::lock_guard lock(slot.work->mutex);
    slot.work->items.push_back(std::move(work));
  }
  // As StopAll: immediate_exit catches a thread about to enter KVM_RUN, the signal one inside.
  std::atomic_ref<uint8_t>(slot.vcpu->run()->immediate_exit).store(1);
  if (const pthread_t thread = slot.work->thread.load(); thread != 0)
    pthread_kill(thread, kKickSignal);
}

void VirtualMachine::RunPendingWork(VcpuSlot& slot) {
  std::vector<std::function<void(Vcpu&)>> items;
  {
    std::lock_guard lock(slot.work->mutex);
    items.swap(slot.work->items);
  }
  for (auto& item : items) item(*slot.vcpu);
}

void VirtualMachine::VcpuLoop(VcpuSlot& slot) {
  Vcpu& vcpu = *slot.vcpu;
  try {
    while (!stopping_.load()) {
      // A kick for work clears here; StopAll's (stopping_ is set before it) must stay.
      std::atomic_ref<uint8_t>(vcpu.run()->immediate_exit).store(0);
      if (stopping_.load()) break;
      RunPendingWork(slot);
      // EINTR/EAGAIN: a kick, or a parked AP woken by INIT/SIPI: look at stopping_ and re-enter.
      if (vcpu.Run() != 0) continue;
      if (!HandleExit(vcpu)) return;
    }
  } catch (const std::exception& error) {
    Finish(std::nullopt, absl::StrFormat("vCPU %u: %s", vcpu.id(), error.what()));
  }
}

bool VirtualMachine::HandleExit(Vcpu& vcpu) {
  kvm_run& run = *vcpu.run();
  switch (run.exit_reason) {
    case KVM_EXIT_IO: {
      auto* bytes = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
      for (uint32_t i = 0; i < run.io.count; ++i) {
        std::span<uint8_t> data(bytes + i * run.io.size, run.io.size);
        if (IsKvmStatsPort(run.io.port)) {  // the bench's exit counter (kvm_stats_port.h)
          std::vector<int> stats_fds;
          for (auto& slot : vcpus_) stats_fds.push_back(slot.stats.get());
          ServeKvmStatsPort(run.io.port, run.io.direction == KVM_EXIT_IO_OUT, data, stats_fds);
          continue;
        }
        const bool is_write = run.io.direction == KVM_EXIT_IO_OUT;
        if (personality_.HandlePortIo(vcpu, run.io.port, is_write, data)) continue;
        const auto request = ports_.Access(run.io.port, is_write, data);
        if (!request) continue;
        EndForRequest(vcpu, *request);
        return false;
      }
      return true;
    }
    case KVM_EXIT_MMIO:
      // Nothing is mapped outside RAM but what the in-kernel irqchip serves.
      ++unhandled_mmio_;
      if (!run.mmio.is_write) std::memset(run.mmio.data, 0xff, sizeof(run.mmio.data));
      return true;
    case KVM_EXIT_INTR: return true;
    case KVM_EXIT_HYPERV: return HandleHypervExit(vcpu);
    case KVM_EXIT_XEN:
      if (const auto request = personality_.HandleXenExit(vcpu)) {
        EndForRequest(vcpu, *request);
        return false;
      }
      return true;
    case KVM_EXIT_SHUTDOWN: {
      // On AMD, KVM re-initialises a vCPU after a shutdown intercept, so its registers are the
      // reset state by now; the guest's FAULT: line (if it printed one) says where it was.
      const kvm_regs regs = vcpu.GetRegs();
      const bool reset_state =
          regs.rip == kResetRip && vcpu.GetSregs().cs.selector == kResetCodeSelector;
      std::string line = absl::StrFormat("triple fault (KVM_EXIT_SHUTDOWN) cpu=%u", vcpu.id());
      absl::StrAppend(&line, reset_state ? ", rip unknown: KVM has reset the vCPU"
                                         : absl::StrFormat(" rip=%#x", regs.rip));
      Finish(std::nullopt,
             absl::StrFormat("vCPU %u: triple fault (KVM_EXIT_SHUTDOWN); after it: %s", vcpu.id(),
                             DescribeVcpu(vcpu)),
             std::move(line));
      return false;
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      std::string data;
      for (uint32_t i = 0; i < run.internal.ndata && i < 16; ++i) {
        data += absl::StrFormat(" %#x", run.internal.data[i]);
      }
      Finish(std::nullopt,
             absl::StrFormat("vCPU %u: KVM internal error, suberror %u (1=emulation failed), "
                             "data:%s; %s",
                             vcpu.id(), run.internal.suberror, data, DescribeVcpu(vcpu)));
      return false;
    }
    case KVM_EXIT_FAIL_ENTRY:
      Finish(std::nullopt,
             absl::StrFormat("vCPU %u: VM entry failed, hardware reason %#x; %s", vcpu.id(),
                             run.fail_entry.hardware_entry_failure_reason, DescribeVcpu(vcpu)));
      return false;
    case KVM_EXIT_SYSTEM_EVENT:
      Finish(std::nullopt,
             absl::StrFormat("vCPU %u: system event %s (%u) without the exit port; %s", vcpu.id(),
                             SystemEventName(run.system_event.type), run.system_event.type,
                             DescribeVcpu(vcpu)),
             absl::StrFormat("system event %s (KVM_EXIT_SYSTEM_EVENT %u) cpu=%u rip=%#x",
                             SystemEventName(run.system_event.type), run.system_event.type,
                             vcpu.id(), vcpu.GetRegs().rip));
      return false;
    default:
      Finish(std::nullopt, absl::StrFormat("vCPU %u: unexpected KVM exit reason %u; %s", vcpu.id(),
                                           run.exit_reason, DescribeVcpu(vcpu)));
      return false;
  }
}

bool VirtualMachine::HandleHypervExit(Vcpu& vcpu) {
  kvm_run& run = *vcpu.run();
  switch (run.hyperv.type) {
    case KVM_EXIT_HYPERV_SYNIC:
      // A SynIC MSR write, reported for information only: KVM has already applied it.
      ++hyperv_synic_exits_;
      return true;
    case KVM_EXIT_HYPERV_HCALL:
      // A hypercall KVM leaves to userspace (messages, events, extended calls). The Hyper-V
      // personalities grant none of them, so this VMM offers no such service.
      ++hyperv_hcall_exits_;
      run.hyperv.u.hcall.result = kHvStatusInvalidHypercallCode;
      return true;
    default:
      Finish(std::nullopt,
             absl::StrFormat("vCPU %u: KVM_EXIT_HYPERV of type %u, which no personality "
                             "offers; %s",
                             vcpu.id(), run.hyperv.type, DescribeVcpu(vcpu)));
      return false;
  }
}

void VirtualMachine::EndForRequest(Vcpu& vcpu, const PortRequest& request) {
  if (const auto* exit = std::get_if<GuestExitRequest>(&request)) {
    Finish(*exit, "");
  } else {
    StopForGuestRequest(vcpu, std::get<MachineStopRequest>(request));
  }
}

void VirtualMachine::StopForGuestRequest(Vcpu& vcpu, const MachineStopRequest& request) {
  // A guest that resets or powers off has ended without the exit port: never a pass, and never
  // a reboot into the image again (a panicking Linux reboots, and would loop).
  const char* what = request.power_off ? "power-off requested" : "reset requested";
  const kvm_regs regs = vcpu.GetRegs();
  const uint64_t linear_rip = vcpu.GetSregs().cs.base + regs.rip;
  const bool at_reset_vector = linear_rip >= kResetVectorAddress && linear_rip < kResetVectorEnd;
  const std::string how =
      at_reset_vector ? absl::StrCat(request.how, ", by the reset vector's code") : request.how;
  Finish(std::nullopt,
         absl::StrFormat("vCPU %u: %s through the %s, without the exit port; %s", vcpu.id(), what,
                         how, DescribeVcpu(vcpu)),
         absl::StrFormat("%s (%s) cpu=%u rip=%#x", what, how, vcpu.id(), regs.rip));
}

void VirtualMachine::Finish(std::optional<GuestExitRequest> exit, std::string fault_reason,
                            std::string fault_line) {
  {
    std::lock_guard lock(finish_mutex_);
    if (finished_) return;  // the first ending wins
    finished_ = true;
    guest_exit_ = exit;
    fault_reason_ = std::move(fault_reason);
    fault_line_ = std::move(fault_line);
  }
  finished_signal_.notify_all();
}

void VirtualMachine::StopAll() {
  stopping_.store(true);
  for (auto& slot : vcpus_) {
    // immediate_exit before the signal: a thread about to enter KVM_RUN returns at once, one
    // inside it is interrupted.
    std::atomic_ref<uint8_t>(slot.vcpu->run()->immediate_exit).store(1);
    if (slot.thread.joinable()) pthread_kill(slot.thread.native_handle(), kKickSignal);
  }
}

std::string VirtualMachine::DescribeVcpu(Vcpu& vcpu) {
  const kvm_regs regs = vcpu.GetRegs();
  const kvm_sregs sregs = vcpu.GetSregs();
  const kvm_mp_state state = vcpu.GetMpState();
  return absl::StrFormat("vcpu%u rip=%#x cs=%#x cr0=%#x cr3=%#x cr4=%#x efer=%#x mp_state=%u",
                         vcpu.id(), regs.rip, sregs.cs.selector, sregs.cr0, sregs.cr3, sregs.cr4,
                         sregs.efer, state.mp_state);
}

}  // namespace pvops::vmm
