/* SPDX-License-Identifier: MIT */
// A scriptable x86 CPU for host tests: the library's arch layer (src/arch/x86/arch.h) runs on
// it when built with PVOPS_SIM_CPU. A test describes the machine - CPUID leaves, MSRs, port and
// MMIO devices, what the hypervisor answers to a hypercall - runs library code, then checks what
// the code did: every privileged instruction is counted as an exit of its kind and logged with
// its operands.
//
// One SimCpu is "current" at a time (tests/sim/sim_test.h installs one per test). It models up
// to kMaxCpus logical CPUs on one host thread: a test switches the CPU the code runs on, which
// is how an IPI's handler "runs on the target".
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <pvops/pvops.h>

#include "arch/x86/arch.h"

namespace pvops::sim {

inline constexpr uint32_t kMaxCpus = 8;
// What the test process exits with when a CPU halts with interrupts off: the simulated machine
// is dead. Death tests expect it.
inline constexpr int kDeadHaltExitCode = 0x5d;

// One per instruction kind that leaves a guest (or touches hardware) on a real machine.
enum class Exit : uint32_t {
  kCpuid,
  kRdmsr,
  kWrmsr,
  kMsrFault,  // #GP from an absent or refusing MSR (safe or not)
  kPortIn,
  kPortOut,
  kMmioRead,
  kMmioWrite,
  kCli,
  kSti,
  kSaveFlags,
  kRestoreFlags,
  kHlt,
  kPause,
  kReadCr2,
  kReadCr3,
  kWriteCr3,
  kReadCr4,
  kWriteCr4,
  kInvlpg,
  kRdtsc,
  kVmcall,
  kVmmcall,
  kStubCall,
  kBackdoor,
  kLoadTable,  // lidt, lgdt (with the segment reloads after it), ltr
  kWriteCr0,
  kCr8,  // the task priority, read or written
  kCount
};
const char* ExitName(Exit kind);

struct PortAccess {
  uint32_t cpu;
  uint16_t port;
  uint8_t size;  // 1, 2 or 4 bytes
  bool write;
  uint32_t value;
};
struct MsrAccess {
  uint32_t cpu;
  uint32_t msr;
  bool write;
  uint64_t value;
  bool faulted;
};
struct MmioAccess {
  uint32_t cpu;
  uintptr_t address;
  bool write;
  uint32_t value;
};
// A control-register write or an invlpg, with the CPU that executed it.
struct CpuEvent {
  uint32_t cpu;
  uint64_t value;
};
struct HypercallRecord {
  uint32_t cpu;
  Exit kind;  // kVmcall, kVmmcall, kStubCall or kBackdoor
  arch::HypercallRegs in;
  const void* stub;  // kStubCall only
};

class SimCpu {
 public:
  // nullopt / false: the access faults (#GP), as on an absent MSR.
  using MsrReadFn = std::function<std::optional<uint64_t>(uint32_t msr)>;
  using MsrWriteFn = std::function<bool(uint32_t msr, uint64_t value)>;
  using PortReadFn = std::function<uint32_t(uint16_t port, uint8_t size)>;
  using PortWriteFn = std::function<void(uint16_t port, uint8_t size, uint32_t value)>;
  using MmioReadFn = std::function<uint32_t(uint64_t offset)>;
  using MmioWriteFn = std::function<void(uint64_t offset, uint32_t value)>;
  using HypercallFn = std::function<void(arch::HypercallRegs& regs)>;
  using StubFn = std::function<void(const void* stub, arch::HypercallRegs& regs)>;
  using Hook = std::function<void()>;

  SimCpu();
  SimCpu(const SimCpu&) = delete;
  SimCpu& operator=(const SimCpu&) = delete;

  // ---- CPUID ---------------------------------------------------------------------------
  // What a leaf missing from the table returns. Real CPUs and QEMU's TCG answer any leaf above
  // the maximum basic leaf (CPUID 0 EAX) with that last basic leaf: kEchoLastBasicLeaf.
  enum class CpuidMiss { kZeros, kEchoLastBasicLeaf };
  void SetCpuid(uint32_t leaf, pvops_cpuid_regs regs);  // for every subleaf
  void SetCpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs regs);
  void EraseCpuid(uint32_t leaf);
  void SetCpuidMiss(CpuidMiss miss) { cpuid_miss_ = miss; }
  // Sets or clears `bits` in one register (0 = EAX .. 3 = EDX) of a leaf (all subleaves).
  void SetCpuidBits(uint32_t leaf, int reg, uint32_t bits, bool on);
  // A hypervisor signature block: EAX = max leaf, EBX/ECX/EDX = 12 signature bytes.
  void SetHypervisorLeaf(uint32_t base, uint32_t max_leaf, std::string_view signature12);
  // Without counting: what the instruction would return.
  pvops_cpuid_regs PeekCpuid(uint32_t leaf, uint32_t subleaf) const;

  // ---- MSRs ----------------------------------------------------------------------------
  // A present MSR backed by storage (reads return the last write).
  void SetMsr(uint32_t msr, uint64_t value);
  void EraseMsr(uint32_t msr);
  bool HasMsr(uint32_t msr) const;
  uint64_t Msr(uint32_t msr) const;  // a failed expectation when absent
  // A device behind a range of MSRs; consulted before plain storage.
  void HandleMsrs(uint32_t first, uint32_t last, MsrReadFn read, MsrWriteFn write);

  // ---- I/O ports, MMIO, guest-physical memory ------------------------------------------
  // Unhandled ports read all ones (an empty ISA bus) and drop writes; all are logged.
  void HandlePorts(uint16_t first, uint16_t last, PortReadFn read, PortWriteFn write);
  // Accesses through arch::mmio_* inside [base, base+length) go to the handlers (offset from
  // base); elsewhere they are plain memory accesses.
  void MapMmio(const volatile void* base, size_t length, MmioReadFn read, MmioWriteFn write);
  // The guest-physical layout the env's phys_to_virt / virt_to_phys see (tests/sim/sim_env.h).
  void MapPhys(uint64_t pa, void* va, size_t length);
  void* PhysToVirt(uint64_t pa) const;        // nullptr when unmapped
  uint64_t VirtToPhys(const void* va) const;  // identity when unmapped
  // Where a simulated hypervisor writes guest-physical `pa`: the inverse of VirtToPhys,
  // identity where nothing is mapped.
  void* GuestMemory(uint64_t pa) const;

  // ---- Hypercalls ----------------------------------------------------------------------
  // Without a handler the instruction is #UD on a machine without that hypervisor: a failed
  // expectation.
  void SetHypercallHandler(arch::HypercallInsn insn, HypercallFn fn);
  void SetStubHandler(StubFn fn) { stub_handler_ = std::move(fn); }
  void SetBackdoorHandler(HypercallFn fn) { backdoor_handler_ = std::move(fn); }

  // ---- CPUs, flags, control registers --------------------------------------------------
  uint32_t current_cpu() const { return current_cpu_; }
  void SetCurrentCpu(uint32_t cpu);
  // Runs `fn` as if on `cpu` (an interrupt handler on the target of an IPI), then switches back.
  void RunOnCpu(uint32_t cpu, const std::function<void()>& fn);
  bool interrupts_enabled() const { return state().interrupts_enabled; }
  bool interrupts_enabled_on(uint32_t cpu) const { return cpus_.at(cpu).interrupts_enabled; }
  void SetInterruptsEnabled(bool on) { state().interrupts_enabled = on; }
  uint64_t cr2() const { return state().cr2; }
  uint64_t cr3() const { return state().cr3; }
  uint64_t cr4() const { return state().cr4; }
  void SetCr2(uint64_t v) { state().cr2 = v; }
  void SetCr3(uint64_t v) { state().cr3 = v; }
  void SetCr4(uint64_t v) { state().cr4 = v; }
  uint64_t cr0() const { return state().cr0; }
  uint64_t cr8() const { return state().cr8; }
  // The descriptor tables as the last lidt / lgdt / ltr left them, and the selectors reloaded.
  struct TableRegisters {
    uint64_t idt_base = 0, gdt_base = 0;
    uint16_t idt_limit = 0, gdt_limit = 0, cs = 0, data = 0, tr = 0;
  };
  const TableRegisters& tables() const { return state().tables; }

  // ---- Time ----------------------------------------------------------------------------
  // The TSC moves forward by `ticks` at every simulated instruction (rdtsc included), so
  // polling loops see time pass. Shared by all CPUs (an invariant, synchronized TSC).
  uint64_t tsc() const { return tsc_; }
  void SetTsc(uint64_t value) { tsc_ = value; }
  void SetTicksPerInstruction(uint64_t ticks) { ticks_per_instruction_ = ticks; }
  void AdvanceTsc(uint64_t ticks) { tsc_ += ticks; }

  // ---- Hooks ---------------------------------------------------------------------------
  // hlt: runs the hook (a wake-up source, e.g. a pending interrupt). Without one, hlt with
  // interrupts on returns (as if woken), and with interrupts off ends the process with
  // kDeadHaltExitCode: nothing could ever wake the CPU.
  void OnHalt(Hook hook) { on_halt_ = std::move(hook); }
  // pause: runs the hook, the place where "another CPU" makes progress during a spin.
  void OnPause(Hook hook) { on_pause_ = std::move(hook); }
  // rdtsc: runs the hook first, the place where a hypervisor rewrites a clock page between a
  // reader's loads (a torn read).
  void OnRdtsc(Hook hook) { on_rdtsc_ = std::move(hook); }
  [[noreturn]] void DeadHalt() const;

  // ---- What happened -------------------------------------------------------------------
  uint64_t exits(Exit kind) const { return exits_[static_cast<uint32_t>(kind)]; }
  uint64_t total_exits() const;
  void ResetExits() { exits_.fill(0); }
  const std::vector<PortAccess>& port_log() const { return port_log_; }
  const std::vector<MsrAccess>& msr_log() const { return msr_log_; }
  const std::vector<MmioAccess>& mmio_log() const { return mmio_log_; }
  const std::vector<CpuEvent>& cr3_writes() const { return cr3_writes_; }
  const std::vector<CpuEvent>& cr4_writes() const { return cr4_writes_; }
  const std::vector<CpuEvent>& invlpgs() const { return invlpgs_; }
  const std::vector<HypercallRecord>& hypercalls() const { return hypercalls_; }
  // The values written to one port, in order.
  std::vector<uint32_t> PortWrites(uint16_t port) const;
  // The values written to one MSR, in order.
  std::vector<uint64_t> MsrWrites(uint32_t msr) const;
  void ClearLogs();

  // ---- The instructions (the arch shim in sim_arch.cc calls these) ---------------------
  pvops_cpuid_regs ExecCpuid(uint32_t leaf, uint32_t subleaf);
  std::optional<uint64_t> ExecRdmsr(uint32_t msr);  // nullopt: #GP
  bool ExecWrmsr(uint32_t msr, uint64_t value);     // false: #GP
  uint32_t ExecIn(uint16_t port, uint8_t size);
  void ExecOut(uint16_t port, uint8_t size, uint32_t value);
  uint32_t ExecMmioRead(const volatile uint32_t* address);
  void ExecMmioWrite(volatile uint32_t* address, uint32_t value);
  uint64_t ExecSaveFlags();
  void ExecRestoreFlags(uint64_t flags);
  void ExecCli();
  void ExecSti();
  void ExecHlt();
  void ExecStiHlt();
  void ExecPause();
  uint64_t ExecReadCr2();
  uint64_t ExecReadCr3();
  void ExecWriteCr3(uint64_t value);
  uint64_t ExecReadCr4();
  void ExecWriteCr4(uint64_t value);
  void ExecInvlpg(uint64_t va);
  uint64_t ExecRdtsc();
  void ExecHypercall(arch::HypercallInsn insn, arch::HypercallRegs& regs);
  void ExecCallStub(const void* stub, arch::HypercallRegs& regs);
  void ExecBackdoor(arch::HypercallRegs& regs);
  void ExecWriteCr0(uint64_t value);
  uint64_t ExecReadCr8();
  void ExecWriteCr8(uint64_t value);
  void ExecLidt(const void* base, uint16_t limit);
  void ExecLgdt(const void* base, uint16_t limit, uint16_t code, uint16_t data);
  void ExecLtr(uint16_t selector);

 private:
  struct CpuState {
    bool interrupts_enabled = false;
    uint64_t cr2 = 0, cr3 = 0, cr4 = 0, cr0 = 0, cr8 = 0;
    TableRegisters tables;
  };
  struct MsrDevice {
    uint32_t first, last;
    MsrReadFn read;
    MsrWriteFn write;
  };
  struct PortDevice {
    uint16_t first, last;
    PortReadFn read;
    PortWriteFn write;
  };
  struct MmioRegion {
    uintptr_t base;
    size_t length;
    MmioReadFn read;
    MmioWriteFn write;
  };
  struct PhysRegion {
    uint64_t pa;
    uintptr_t va;
    size_t length;
  };
  static constexpr uint32_t kAnySubleaf = 0xffffffff;

  CpuState& state() { return cpus_[current_cpu_]; }
  const CpuState& state() const { return cpus_[current_cpu_]; }
  // Every simulated instruction: time passes and the kind is counted.
  void Step(Exit kind);
  const pvops_cpuid_regs* FindCpuid(uint32_t leaf, uint32_t subleaf) const;
  const MsrDevice* FindMsrDevice(uint32_t msr) const;
  const PortDevice* FindPortDevice(uint16_t port) const;
  const MmioRegion* FindMmio(uintptr_t address) const;

  std::map<std::pair<uint32_t, uint32_t>, pvops_cpuid_regs> cpuid_;
  CpuidMiss cpuid_miss_ = CpuidMiss::kZeros;
  std::map<uint32_t, uint64_t> msrs_;
  std::vector<MsrDevice> msr_devices_;
  std::vector<PortDevice> port_devices_;
  std::vector<MmioRegion> mmio_regions_;
  std::vector<PhysRegion> phys_regions_;
  HypercallFn hypercall_handlers_[2];
  StubFn stub_handler_;
  HypercallFn backdoor_handler_;
  Hook on_halt_;
  Hook on_pause_;
  Hook on_rdtsc_;

  std::array<CpuState, kMaxCpus> cpus_{};
  uint32_t current_cpu_ = 0;
  uint64_t tsc_ = 1'000'000;
  uint64_t ticks_per_instruction_ = 100;

  std::array<uint64_t, static_cast<uint32_t>(Exit::kCount)> exits_{};
  std::vector<PortAccess> port_log_;
  std::vector<MsrAccess> msr_log_;
  std::vector<MmioAccess> mmio_log_;
  std::vector<CpuEvent> cr3_writes_;
  std::vector<CpuEvent> cr4_writes_;
  std::vector<CpuEvent> invlpgs_;
  std::vector<HypercallRecord> hypercalls_;
};

// The CPU the arch layer runs on. Installing nullptr uninstalls.
void Install(SimCpu* cpu);
SimCpu& Current();  // aborts with a message when none is installed

}  // namespace pvops::sim
