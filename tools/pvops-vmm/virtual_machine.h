/* SPDX-License-Identifier: MIT */
// One L2 guest on /dev/kvm: RAM, the in-kernel irqchip, N vCPUs each on its own thread, ACPI
// tables, the guest's port devices, and the way a run ends (exit port, fault, reset, power-off,
// or timeout).
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "console_output.h"
#include "guest_memory.h"
#include "kvm_handles.h"
#include "move_plan.h"
#include "personality.h"
#include "port_io_devices.h"
#include "unique_fd.h"

namespace pvops::vmm {

// Moving the running guest from personality to personality (move_plan.h).
struct MoveConfig {
  std::vector<std::string> plan;  // the starting personality, then one per hop
  MoveTiming timing;
  // Makes each hop's personality (main.cc passes the options each one takes).
  std::function<std::unique_ptr<Personality>(std::string_view name)> make_personality;
};

struct VmConfig {
  uint32_t vcpu_count = 2;
  uint64_t memory_bytes = 256ull << 20;
  std::string command_line;
  std::vector<uint8_t> initrd;      // empty: none; else hvm_start_info module 0
  std::chrono::seconds timeout{0};  // 0: no limit
  // Every vCPU thread on this one host CPU: an overcommitted host, where a vCPU is preempted
  // whenever another runs (what KVM's steal time and preempted flags are for). -1: no pinning.
  int vcpus_on_host_cpu = -1;
  std::optional<MoveConfig> move;  // nullopt: the move port is not answered
};

struct RunResult {
  std::optional<GuestExitRequest> guest_exit;  // set when the guest wrote the exit port
  std::string fault_reason;                    // otherwise, why the run ended
  // For an ending the guest caused (triple fault, reset, power-off, a KVM system event): the
  // VMM's FAULT: line, without the prefix. The runner keeps the first FAULT: line it sees, so a
  // line the guest printed itself before the end wins.
  std::string fault_line;
  std::map<std::string, uint64_t> kvm_counters;  // KVM's event counters, summed over VM and vCPUs
  std::chrono::milliseconds run_time{0};   // first KVM_RUN to the run's end (exit port, fault)
  std::chrono::milliseconds stop_time{0};  // stopping and joining the vCPU threads after it
  uint64_t unhandled_port_accesses = 0;
  uint64_t unhandled_mmio_accesses = 0;
  uint64_t hyperv_synic_exits = 0;    // KVM_EXIT_HYPERV (SYNIC): re-entered, KVM applied them
  uint64_t hyperv_hcall_exits = 0;    // KVM_EXIT_HYPERV (HCALL): answered "invalid code"
  std::string personality_stats;      // the personality's own " name=value" fields
  std::string move_stats;             // " vmm_move_hops=N" and each hop's times, with a plan
  std::vector<std::string> l1_trace;  // the L1 trace's last lines, read at a triple fault
};

class VirtualMachine final : private MachineHost {
 public:
  // Builds the VM and loads the PVH image; throws VmmError with the reason on any failure.
  VirtualMachine(const VmConfig& config, std::span<const uint8_t> image, Personality& personality,
                 ConsoleOutput& console);
  ~VirtualMachine();

  RunResult Run();

 private:
  // Work other threads hand a vCPU's thread (MachineHost::RunOnVcpu).
  struct VcpuWork {
    std::mutex mutex;
    std::vector<std::function<void(Vcpu&)>> items;
    std::atomic<pthread_t> thread{0};  // 0 until the vCPU's thread runs
    std::atomic<bool> ended{false};    // the thread has left its loop for good
  };
  struct VcpuSlot {
    std::unique_ptr<Vcpu> vcpu;
    UniqueFd stats;
    std::thread thread;
    std::unique_ptr<VcpuWork> work;
    // Its thread did not stop when asked and was let go: the vCPU stays to the process's end.
    bool stranded = false;
  };

  // MachineHost, for the personality.
  Vm& vm() override { return *vm_; }
  GuestMemory& memory() override { return memory_; }
  ConsoleOutput& console() override { return console_; }
  uint32_t vcpu_count() const override { return config_.vcpu_count; }
  void RunOnVcpu(uint32_t id, std::function<void(Vcpu&)> work) override;
  void RunPendingWork(VcpuSlot& slot);

  // A KVM VM over memory_ for `personality`: devices, vCPUs with their CPUID (at boot, and
  // for each hop). The personality attaches to the machine only when the VM is the one in use.
  struct BuiltVm {
    std::unique_ptr<Vm> vm;
    UniqueFd stats;
    std::vector<VcpuSlot> vcpus;
  };
  BuiltVm BuildKvmVm(Personality& personality);
  void UseVm(BuiltVm built);
  struct PreparedVm {
    std::string personality_name;
    std::unique_ptr<Personality> personality;
    BuiltVm built;
  };
  // The move plan's personality of that name, and a VM built for it.
  PreparedVm MakeVmFor(const std::string& personality_name);
  // The next hop's VM and personality, made while the guest still runs on this one, so that a
  // hop's downtime holds only stopping, saving and restoring (KVM lets two VMs map one memory).
  void PrepareNextVm();
  // One thread per vCPU, each held until OpenGate.
  void StartVcpuThreads();
  void OpenGate();
  void VcpuLoop(VcpuSlot& slot);
  // The move port (move_plan.h), on the vCPU thread that accessed it.
  void HandleMovePort(Vcpu& vcpu, bool is_write, std::span<uint8_t> data);
  // The run's waits: the end, the timeout, a move request due, a guest late with "ready", a
  // hop to make. Returns true when the run timed out.
  bool Coordinate(std::chrono::steady_clock::time_point started);
  void RaiseMoveRequest(std::chrono::steady_clock::time_point now);
  // Stops, saves, rebuilds with the next personality, restores and resumes (main thread).
  void Hop();
  void AddVmCounters(std::map<std::string, uint64_t>& counters);
  bool PinToHostCpu(const Vcpu& vcpu, int host_cpu);  // false: the run is ended with the reason
  // Handles one exit; false once this vCPU is to stop.
  bool HandleExit(Vcpu& vcpu);
  bool HandleHypervExit(Vcpu& vcpu);
  void StopForGuestRequest(Vcpu& vcpu, const MachineStopRequest& request);
  void EndForRequest(Vcpu& vcpu, const PortRequest& request);
  void Finish(std::optional<GuestExitRequest> exit, std::string fault_reason,
              std::string fault_line = "");
  void FinishLocked(std::optional<GuestExitRequest> exit, std::string fault_reason,
                    std::string fault_line);
  void StopAll();
  // Joins each vCPU thread that ends within `limit` of StopAll; one that does not (still inside
  // KVM_RUN: its L1 CPU never returned to it) is let go and marked stranded, so that a stuck
  // L1 cannot keep the run from its verdict.
  void JoinVcpuThreads(std::chrono::milliseconds limit);
  std::string DescribeVcpu(Vcpu& vcpu);

  VmConfig config_;
  Personality* personality_;
  std::unique_ptr<Personality> moved_personality_;  // after the first hop, personality_'s owner
  ConsoleOutput& console_;
  KvmSystem kvm_;
  std::unique_ptr<Vm> vm_;
  GuestMemory memory_;
  PortIoDevices ports_;
  UniqueFd vm_stats_;
  std::vector<VcpuSlot> vcpus_;
  std::optional<PreparedVm> prepared_;  // coordinator thread only

  std::mutex finish_mutex_;
  std::condition_variable finished_signal_;
  bool finished_ = false;
  std::optional<GuestExitRequest> guest_exit_;
  std::string fault_reason_;
  std::string fault_line_;
  std::vector<std::string> l1_trace_;  // finish_mutex_'s, like fault_line_
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> gate_{0};  // vCPU threads of generation N run once it reaches N

  // Moves (with config_.move). The controller, hop_wanted_ and ready_at_ are finish_mutex_'s.
  std::optional<MoveController> move_;
  bool hop_wanted_ = false;
  std::chrono::steady_clock::time_point ready_at_;
  std::atomic<bool> pausing_{false};          // vCPU threads leave their loop for a hop
  std::atomic<int64_t> vcpu0_entered_ns_{0};  // steady_clock, vCPU 0's first KVM_RUN of a VM
  std::vector<uint32_t> msrs_to_move_;
  size_t xsave_bytes_ = 0;
  std::map<std::string, uint64_t> earlier_vm_counters_;  // KVM's counters of VMs hopped from
  std::string move_stats_;
  std::atomic<uint64_t> move_port_refusals_{0};
  std::atomic<uint64_t> unhandled_mmio_{0};
  std::atomic<uint64_t> hyperv_synic_exits_{0};
  std::atomic<uint64_t> hyperv_hcall_exits_{0};
};

}  // namespace pvops::vmm
