// SPDX-License-Identifier: MIT
#include "virtual_machine.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "acpi_tables.h"
#include "irq_routing.h"
#include "kvm_stats.h"
#include "kvm_stats_port.h"
#include "l1_trace.h"
#include "pvh_entry.h"
#include "pvh_image.h"
#include "reset_vector.h"
#include "start_info.h"
#include "vm_state.h"
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
// An MSI to the LAPIC with ID 0 in physical destination mode (data: the vector, fixed, edge).
constexpr uint64_t kMsiAddressApicId0 = 0xfee00000;
// How long a hop waits for vCPU 0 to enter the new VM before it reports the downtime anyway.
constexpr auto kFirstEntryWait = std::chrono::seconds(1);
// How long a kicked vCPU thread may take to leave KVM_RUN; under TCG a kick takes milliseconds.
constexpr auto kVcpuStopLimit = std::chrono::seconds(10);

// What saving and restoring a VM needs of KVM (vm_state.h).
constexpr KvmCapability kMoveCapabilities[] = {
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_XSAVE, "KVM_CAP_XSAVE"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS"},
    {KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK"},
    {KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
};

double Milliseconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

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
      personality_(&personality),
      console_(console),
      vm_(std::make_unique<Vm>(kvm_)),
      memory_(config.memory_bytes),
      ports_(console, [this](uint32_t irq, bool asserted) { vm_->SetIrqLine(irq, asserted); }) {
  if (config.vcpu_count == 0 || config.vcpu_count > 255) {
    throw VmmError(absl::StrFormat("--cpus=%u: between 1 and 255 (xAPIC IDs)", config.vcpu_count));
  }
  if (kvm_.CheckExtension(KVM_CAP_IMMEDIATE_EXIT) <= 0)
    throw VmmError("KVM lacks KVM_CAP_IMMEDIATE_EXIT");
  if (kvm_.CheckExtension(KVM_CAP_BINARY_STATS_FD) <= 0)
    throw VmmError("KVM lacks KVM_CAP_BINARY_STATS_FD");

  std::vector<GuestRange> reserved = personality.ReservedRanges();
  if (config.move) {
    const MoveConfig& move = *config.move;
    if (move.plan.empty() || move.plan.front() != personality.name())
      throw VmmError(absl::StrCat("the move plan must start with the VM's personality ",
                                  std::string(personality.name())));
    for (const auto& required : kMoveCapabilities) {
      if (kvm_.CheckExtension(required.capability) <= 0)
        throw VmmError(absl::StrCat("moves: KVM lacks ", required.name));
    }
    // Every personality of the plan is made once now, so that a bad option or a clash with
    // the image shows before the guest runs, not at its hop.
    for (size_t hop = 1; hop < move.plan.size(); ++hop) {
      for (const GuestRange& range : move.make_personality(move.plan[hop])->ReservedRanges())
        reserved.push_back(range);
    }
    move_.emplace(move.plan, move.timing, memory_);
    msrs_to_move_ = MsrsToMove(kvm_.MsrIndexList());
    xsave_bytes_ = static_cast<size_t>(std::max(0, vm_->CheckExtension(KVM_CAP_XSAVE2)));
  }

  const PvhImage pvh = ParsePvhImage(image);
  CheckImageClearOfVmmData(pvh, reserved);
  LoadPvhImage(pvh, image, memory_);
  personality.FillGuestMemory(memory_);
  BootExtras boot_extras;
  if (!config.initrd.empty()) {
    boot_extras.initrd = LoadInitrd(memory_, config.initrd, pvh.EndAddress());
  }
  boot_extras.rsdp_address = WriteAcpiTables(memory_, config.vcpu_count);
  WriteResetVector(memory_);
  const uint64_t start_info = WriteStartInfo(memory_, config.command_line, boot_extras);

  UseVm(BuildKvmVm(*personality_));
  personality_->Attach(*this);
  // Only the bootstrap processor gets the PVH entry state; the others stay in KVM's
  // UNINITIALIZED state until the guest's INIT-SIPI-SIPI reaches the in-kernel LAPIC.
  Vcpu& boot = *vcpus_[0].vcpu;
  boot.SetSregs(PvhEntrySregs(boot.GetSregs()));
  boot.SetRegs(PvhEntryRegs(pvh.phys32_entry, start_info));
}

VirtualMachine::BuiltVm VirtualMachine::BuildKvmVm(Personality& personality) {
  BuiltVm built;
  built.vm = std::make_unique<Vm>(kvm_);
  Vm& vm = *built.vm;
  if (vm.CheckExtension(KVM_CAP_SET_TSS_ADDR) > 0) vm.SetTssAddress(kVmxTssAddress);
  vm.SetUserMemory(kRamSlot, 0, memory_.size(), memory_.host_base());
  // In-kernel LAPIC, IOAPIC and PIC: IPIs, timers and EOIs are KVM's own. Must precede vCPUs.
  vm.CreateIrqchip();
  vm.SetGsiRouting(BuildPcIrqRouting());  // the PIT on IOAPIC pin 2, as the MADT says
  // The in-kernel i8254 too, so the guest finds the PC's timer devices it finds under QEMU.
  if (vm.CheckExtension(KVM_CAP_PIT2) <= 0) throw VmmError("KVM lacks KVM_CAP_PIT2");
  vm.CreatePit();
  personality.ConfigureVm(vm);
  built.stats = vm.OpenStatsFd();

  const CpuidTable supported = kvm_.SupportedCpuid();
  for (uint32_t id = 0; id < config_.vcpu_count; ++id) {
    auto vcpu = std::make_unique<Vcpu>(vm, id);
    vcpu->SetCpuid(
        personality.BuildTable(supported, {.apic_id = id, .vcpu_count = config_.vcpu_count}));
    personality.ConfigureVcpu(*vcpu);
    VcpuSlot slot;
    slot.stats = vcpu->OpenStatsFd();
    slot.vcpu = std::move(vcpu);
    slot.work = std::make_unique<VcpuWork>();
    built.vcpus.push_back(std::move(slot));
  }
  return built;
}

void VirtualMachine::UseVm(BuiltVm built) {
  vm_ = std::move(built.vm);
  vm_stats_ = std::move(built.stats);
  vcpus_ = std::move(built.vcpus);
}

VirtualMachine::PreparedVm VirtualMachine::MakeVmFor(const std::string& personality_name) {
  std::unique_ptr<Personality> personality = config_.move->make_personality(personality_name);
  BuiltVm built = BuildKvmVm(*personality);
  return PreparedVm{personality_name, std::move(personality), std::move(built)};
}

void VirtualMachine::PrepareNextVm() {
  const std::string to = move_->next_personality();
  if (prepared_ && prepared_->personality_name == to) return;
  prepared_.reset();
  try {
    prepared_ = MakeVmFor(to);
  } catch (const std::exception& error) {
    // The hop makes the VM itself then, inside its downtime, and fails there if it must.
    console_.Note(absl::StrFormat("move: the %s VM could not be made ahead: %s", to, error.what()));
  }
}

VirtualMachine::~VirtualMachine() {
  StopAll();
  JoinVcpuThreads(kVcpuStopLimit);
  for (auto& slot : vcpus_) {
    if (!slot.stranded) continue;
    // Its thread may still return from KVM_RUN into these: they are never freed.
    static_cast<void>(slot.vcpu.release());
    static_cast<void>(slot.work.release());
  }
}

void VirtualMachine::JoinVcpuThreads(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (auto& slot : vcpus_) {
    if (!slot.thread.joinable()) continue;
    while (!slot.work->ended.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (slot.work->ended.load()) {
      slot.thread.join();
    } else {
      slot.thread.detach();
      slot.stranded = true;
    }
  }
}

RunResult VirtualMachine::Run() {
  InstallKickHandler();
  const auto started = std::chrono::steady_clock::now();
  StartVcpuThreads();
  OpenGate();
  const bool timed_out = Coordinate(started);
  const auto ended = std::chrono::steady_clock::now();
  // Said before the vCPUs are stopped, in case one of them never stops.
  if (timed_out) {
    console_.Note(absl::StrFormat("timeout: the guest did not end within %d s; stopping it",
                                  config_.timeout.count()));
  }
  StopAll();
  JoinVcpuThreads(kVcpuStopLimit);
  std::string stranded;
  for (auto& slot : vcpus_) {
    if (slot.stranded) stranded += absl::StrFormat(" vcpu%u", slot.vcpu->id());
  }
  if (!stranded.empty()) {
    console_.Note(absl::StrFormat("still inside KVM_RUN %d s after the stop:%s",
                                  std::chrono::seconds(kVcpuStopLimit).count(), stranded));
  }

  RunResult result;
  using std::chrono::duration_cast, std::chrono::milliseconds;
  result.run_time = duration_cast<milliseconds>(ended - started);
  result.stop_time = duration_cast<milliseconds>(std::chrono::steady_clock::now() - ended);
  if (timed_out) {
    std::string where;
    for (auto& slot : vcpus_) {
      where += slot.stranded ? absl::StrFormat(" vcpu%u never left KVM_RUN", slot.vcpu->id())
                             : " " + DescribeVcpu(*slot.vcpu);
    }
    result.fault_reason = absl::StrFormat("timeout: the guest did not end within %d s;%s",
                                          config_.timeout.count(), where);
    result.fault_line = result.fault_reason;  // the guest could not say it: the verdict's reason
  } else {
    result.guest_exit = guest_exit_;
    result.fault_reason = fault_reason_;
    result.fault_line = fault_line_;
    result.l1_trace = l1_trace_;
  }
  result.kvm_counters = earlier_vm_counters_;
  AddVmCounters(result.kvm_counters);
  result.unhandled_port_accesses = ports_.unhandled_accesses();
  result.unhandled_mmio_accesses = unhandled_mmio_.load();
  result.hyperv_synic_exits = hyperv_synic_exits_.load();
  result.hyperv_hcall_exits = hyperv_hcall_exits_.load();
  result.personality_stats = personality_->StatFields();
  if (move_) {
    result.move_stats =
        absl::StrCat(" vmm_move_hops=", move_->hops_done(),
                     " vmm_move_port_refusals=", move_port_refusals_.load(), move_stats_);
  }
  return result;
}

void VirtualMachine::AddVmCounters(std::map<std::string, uint64_t>& counters) {
  // A hop that failed half way may have left no VM.
  if (vm_stats_.valid()) AddEventCounters(ReadKvmStats(vm_stats_.get()), counters);
  for (auto& slot : vcpus_) AddEventCounters(ReadKvmStats(slot.stats.get()), counters);
}

void VirtualMachine::StartVcpuThreads() {
  const uint32_t generation = gate_.load() + 1;
  for (auto& slot : vcpus_) {
    slot.work->ended.store(false);
    slot.thread = std::thread([this, &slot, generation] {
      if (config_.vcpus_on_host_cpu < 0 || PinToHostCpu(*slot.vcpu, config_.vcpus_on_host_cpu)) {
        for (uint32_t open = gate_.load(); open < generation; open = gate_.load()) {
          gate_.wait(open);
        }
        slot.work->thread.store(pthread_self());
        VcpuLoop(slot);
        slot.work->thread.store(0);  // no more kicks: the thread is about to end
      }
      slot.work->ended.store(true);
    });
  }
}

void VirtualMachine::OpenGate() {
  gate_.fetch_add(1);
  gate_.notify_all();
}

bool VirtualMachine::Coordinate(std::chrono::steady_clock::time_point started) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> deadline;
  if (config_.timeout.count() > 0) deadline = started + config_.timeout;
  std::unique_lock lock(finish_mutex_);
  for (;;) {
    if (finished_) return false;
    if (hop_wanted_) {
      lock.unlock();
      Hop();
      lock.lock();
      continue;
    }
    const auto now = Clock::now();
    if (deadline && now >= *deadline) {
      finished_ = true;  // a vCPU ending the run after the timeout is ignored
      return true;
    }
    std::optional<Clock::time_point> wake = deadline;
    const auto earliest = [&wake](std::optional<Clock::time_point> at) {
      if (at && (!wake || *at < *wake)) wake = at;
    };
    if (move_) {
      if (const auto late = move_->ready_deadline(); late && now >= *late) {
        const std::string line = absl::StrFormat(
            "move: the guest did not say ready within %d ms of request %u (hop %u, %s to %s)",
            config_.move->timing.ready_timeout.count(), move_->request_seq(),
            move_->hops_done() + 1, move_->current_personality(), move_->next_personality());
        FinishLocked(std::nullopt, line, line);
        return false;
      }
      if (const auto due = move_->request_due(); due && now >= *due) {
        lock.unlock();
        PrepareNextVm();
        lock.lock();
        if (finished_) return false;
        RaiseMoveRequest(Clock::now());
        continue;
      }
      earliest(move_->ready_deadline());
      earliest(move_->request_due());
    }
    if (wake) {
      finished_signal_.wait_until(lock, *wake);
    } else {
      finished_signal_.wait(lock);
    }
  }
}

void VirtualMachine::RaiseMoveRequest(std::chrono::steady_clock::time_point now) {
  const uint8_t vector = move_->IssueRequest(now);
  // Fixed delivery, edge, physical destination APIC ID 0 (vCPU 0, the guest's boot CPU).
  const bool delivered = vm_->SignalMsi(kMsiAddressApicId0, vector);
  console_.Note(absl::StrFormat("move: request %u: hop %u, %s to %s, vector %#x%s",
                                move_->request_seq(), move_->hops_done() + 1,
                                move_->current_personality(), move_->next_personality(), vector,
                                delivered ? "" : " (KVM delivered it to no vCPU)"));
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
  bool entered = false;
  try {
    while (!stopping_.load() && !pausing_.load()) {
      // A kick for work clears here; StopAll's and a hop's (their flags are set before it) stay.
      std::atomic_ref<uint8_t>(vcpu.run()->immediate_exit).store(0);
      if (stopping_.load() || pausing_.load()) break;
      RunPendingWork(slot);
      if (!entered && vcpu.id() == 0) {
        vcpu0_entered_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count());
        entered = true;
      }
      // EINTR/EAGAIN: a kick, or a parked AP woken by INIT/SIPI: look at stopping_ and re-enter.
      if (vcpu.Run() != 0) continue;
      if (!HandleExit(vcpu)) return;
    }
    if (pausing_.load() && !stopping_.load()) {
      RunPendingWork(slot);
      // KVM finishes an exit in flight (the `out` that said "ready" moves RIP past itself) on
      // the next KVM_RUN, before it looks at immediate_exit: this one runs no guest code.
      std::atomic_ref<uint8_t>(vcpu.run()->immediate_exit).store(1);
      (void)vcpu.Run();
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
        if (move_ && run.io.port == PVOPS_MOVE_PORT) {
          HandleMovePort(vcpu, is_write, data);
          continue;
        }
        if (personality_->HandlePortIo(vcpu, run.io.port, is_write, data)) continue;
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
    case KVM_EXIT_X86_WRMSR: {
      const std::optional<bool> fault =
          personality_->HandleMsrWrite(vcpu, run.msr.index, run.msr.data);
      if (!fault) {
        Finish(std::nullopt, absl::StrFormat("vCPU %u: WRMSR %#x exited, but personality %s "
                                             "filters no such MSR",
                                             vcpu.id(), run.msr.index, personality_->name()));
        return false;
      }
      run.msr.error = *fault ? 1 : 0;
      return true;
    }
    case KVM_EXIT_XEN:
      if (const auto request = personality_->HandleXenExit(vcpu)) {
        EndForRequest(vcpu, *request);
        return false;
      }
      return true;
    case KVM_EXIT_SHUTDOWN: {
      // On AMD, KVM re-initialises a vCPU after a shutdown intercept, so its registers are the
      // reset state by now: the L1's trace of the exit (l1_trace.h) says where the guest was.
      const kvm_regs regs = vcpu.GetRegs();
      const bool reset_state =
          regs.rip == kResetRip && vcpu.GetSregs().cs.selector == kResetCodeSelector;
      std::vector<std::string> trace = StopTraceAndTail(kL1Tracefs, kL1TraceLinesOnFault);
      const std::optional<ShutdownExit> traced = LastShutdownExit(trace, vcpu.id());
      std::string line = absl::StrFormat("triple fault (KVM_EXIT_SHUTDOWN) cpu=%u", vcpu.id());
      if (!reset_state) {
        absl::StrAppend(&line, absl::StrFormat(" rip=%#x", regs.rip));
      } else if (traced) {
        absl::StrAppend(&line,
                        absl::StrFormat(" rip=%#x delivering %s (from the L1 trace)", traced->rip,
                                        DescribeDeliveredEvent(traced->delivering)));
      } else {
        absl::StrAppend(&line, ", rip unknown: KVM has reset the vCPU and the L1 traced no exit");
      }
      {
        std::lock_guard lock(finish_mutex_);
        if (!finished_) l1_trace_ = std::move(trace);
      }
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

void VirtualMachine::HandleMovePort(Vcpu& vcpu, bool is_write, std::span<uint8_t> data) {
  const auto now = std::chrono::steady_clock::now();
  // The protocol's accesses are 32 bits wide; others are as an unhandled port's.
  if (data.size() != sizeof(uint32_t)) {
    if (!is_write) std::memset(data.data(), 0xff, data.size());
    ++move_port_refusals_;
    console_.Note(absl::StrFormat("move: vCPU %u: a %u-byte access to port %#x ignored", vcpu.id(),
                                  data.size(), PVOPS_MOVE_PORT));
    return;
  }
  if (!is_write) {
    const uint32_t magic = MoveController::PortRead();
    std::memcpy(data.data(), &magic, sizeof(magic));
    return;
  }
  uint32_t value;
  std::memcpy(&value, data.data(), sizeof(value));
  MovePortAction action;
  {
    std::lock_guard lock(finish_mutex_);
    action = move_->PortWrite(value, now);
    if (action.kind == MovePortAction::Kind::kHop) {
      ready_at_ = now;
      hop_wanted_ = true;
      // Every vCPU leaves KVM_RUN: this one after its `out` is done, the others (parked by the
      // guest, interrupts off) at once.
      pausing_.store(true);
      for (auto& slot : vcpus_) {
        std::atomic_ref<uint8_t>(slot.vcpu->run()->immediate_exit).store(1);
        if (const pthread_t thread = slot.work->thread.load(); thread != 0)
          pthread_kill(thread, kKickSignal);
      }
    }
  }
  finished_signal_.notify_all();  // a registration or an ask may have made a request due
  if (action.kind == MovePortAction::Kind::kRefused) {
    ++move_port_refusals_;
    console_.Note(
        absl::StrFormat("move: vCPU %u: port %#x: %s", vcpu.id(), PVOPS_MOVE_PORT, action.why));
  }
}

void VirtualMachine::Hop() {
  using Clock = std::chrono::steady_clock;
  const uint32_t hop = move_->hops_done() + 1;
  const std::string from = move_->current_personality();
  const std::string to = move_->next_personality();
  try {
    JoinVcpuThreads(kVcpuStopLimit);
    for (auto& slot : vcpus_) {
      if (slot.stranded) {
        throw VmmError(absl::StrFormat("vCPU %u still inside KVM_RUN %d s after the stop",
                                       slot.vcpu->id(),
                                       std::chrono::seconds(kVcpuStopLimit).count()));
      }
    }
    const Clock::time_point stopped = Clock::now();
    {
      std::lock_guard lock(finish_mutex_);
      if (finished_) return;  // something ended the run while the vCPUs stopped
    }
    // The TSC stops counting when vCPU 0's is saved and starts again when it is restored: that
    // gap, and only it, is the pause the guest is told (its TSC counts the rest).
    std::vector<VcpuState> saved;
    const Clock::time_point tsc_saved = Clock::now();
    for (auto& slot : vcpus_) saved.push_back(SaveVcpu(*slot.vcpu, msrs_to_move_, xsave_bytes_));
    const VmDeviceState devices = SaveVmDevices(*vm_);
    AddVmCounters(earlier_vm_counters_);
    const Clock::time_point save_done = Clock::now();

    // The old VM is closed only once the guest runs on the new one: closing it is most of a
    // hop's work, and it is inert meanwhile (its vCPUs never run again, and the guest released
    // the timers and pages KVM could write without a vCPU running). The guest's memory stays
    // mapped here and is handed to the new VM.
    BuiltVm retired{std::move(vm_), std::move(vm_stats_), std::move(vcpus_)};
    vcpus_.clear();
    // What the old personality placed in guest memory (the VMI ROM) goes with it.
    for (const GuestRange& range : personality_->ReservedRanges())
      std::memset(memory_.At(range.start, range.end - range.start).data(), 0,
                  range.end - range.start);
    const bool made_ahead = prepared_ && prepared_->personality_name == to;
    if (!made_ahead) {
      prepared_.reset();
      prepared_ = MakeVmFor(to);
    }
    personality_ = prepared_->personality.get();
    moved_personality_ = std::move(prepared_->personality);
    UseVm(std::move(prepared_->built));
    prepared_.reset();
    personality_->FillGuestMemory(memory_);
    personality_->Attach(*this);
    RestoreVmDevices(*vm_, devices);
    const uint64_t tsc = SavedTsc(saved.at(0));
    Clock::time_point tsc_restored;
    for (size_t id = 0; id < vcpus_.size(); ++id) {
      RestoreVcpu(*vcpus_[id].vcpu, saved[id], tsc);
      if (id == 0) tsc_restored = Clock::now();
    }
    const Clock::time_point restore_done = Clock::now();

    pausing_.store(false);
    vcpu0_entered_ns_.store(0);
    StartVcpuThreads();
    Clock::time_point resumed;
    {
      std::lock_guard lock(finish_mutex_);
      resumed = Clock::now();
      const auto pause =
          std::chrono::duration_cast<std::chrono::nanoseconds>(tsc_restored - tsc_saved);
      move_->CompleteHop(static_cast<uint64_t>(pause.count()), resumed);
      hop_wanted_ = false;
    }
    OpenGate();
    // The downtime ends with vCPU 0's first KVM_RUN on the new VM.
    const Clock::time_point waited_until = Clock::now() + kFirstEntryWait;
    while (vcpu0_entered_ns_.load() == 0 && Clock::now() < waited_until)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    const int64_t entered_ns = vcpu0_entered_ns_.load();
    const Clock::time_point closing = Clock::now();
    retired = BuiltVm{};
    const Clock::time_point closed = Clock::now();
    const std::string downtime =
        entered_ns == 0
            ? std::string("unknown")
            : absl::StrFormat(
                  "%.2f", Milliseconds(Clock::time_point(Clock::duration(entered_ns)) - ready_at_));
    console_.Line(absl::StrFormat(
        "move: hop=%u from=%s to=%s downtime_ms=%s pause_ms=%.2f vmm_stop_ms=%.2f "
        "vmm_save_ms=%.2f vmm_restore_ms=%.2f vm_made_ahead=%d old_vm_close_ms=%.2f",
        hop, from, to, downtime, Milliseconds(tsc_restored - tsc_saved),
        Milliseconds(stopped - ready_at_), Milliseconds(save_done - stopped),
        Milliseconds(restore_done - save_done), made_ahead ? 1 : 0,
        Milliseconds(closed - closing)));
    absl::StrAppend(&move_stats_, " vmm_move_hop", hop, "_downtime_ms=", downtime);
  } catch (const std::exception& error) {
    const std::string line =
        absl::StrFormat("move: hop %u (%s to %s) failed: %s", hop, from, to, error.what());
    Finish(std::nullopt, line, line);
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
    FinishLocked(exit, std::move(fault_reason), std::move(fault_line));
  }
  finished_signal_.notify_all();
}

void VirtualMachine::FinishLocked(std::optional<GuestExitRequest> exit, std::string fault_reason,
                                  std::string fault_line) {
  if (finished_) return;  // the first ending wins
  finished_ = true;
  guest_exit_ = exit;
  fault_reason_ = std::move(fault_reason);
  fault_line_ = std::move(fault_line);
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
