// SPDX-License-Identifier: MIT
#include "sim_cpu.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <asm/processor-flags.h>
#include <gtest/gtest.h>

namespace pvops::sim {
namespace {

SimCpu* g_current = nullptr;

constexpr const char* kExitNames[] = {
    "cpuid",     "rdmsr",      "wrmsr",     "msr_fault", "in",         "out",
    "mmio_read", "mmio_write", "cli",       "sti",       "save_flags", "restore_flags",
    "hlt",       "pause",      "read_cr2",  "read_cr3",  "write_cr3",  "read_cr4",
    "write_cr4", "invlpg",     "rdtsc",     "vmcall",    "vmmcall",    "stub_call",
    "backdoor",  "load_table", "write_cr0", "cr8",
};
static_assert(std::size(kExitNames) == static_cast<size_t>(Exit::kCount));

uint32_t& RegisterOf(pvops_cpuid_regs& r, int reg) {
  switch (reg) {
    case 0: return r.eax;
    case 1: return r.ebx;
    case 2: return r.ecx;
    default: return r.edx;
  }
}

}  // namespace

const char* ExitName(Exit kind) {
  const auto i = static_cast<size_t>(kind);
  return i < std::size(kExitNames) ? kExitNames[i] : "?";
}

SimCpu::SimCpu() = default;

// ---- CPUID -----------------------------------------------------------------------------

void SimCpu::SetCpuid(uint32_t leaf, pvops_cpuid_regs regs) { cpuid_[{leaf, kAnySubleaf}] = regs; }

void SimCpu::SetCpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs regs) {
  cpuid_[{leaf, subleaf}] = regs;
}

void SimCpu::EraseCpuid(uint32_t leaf) {
  for (auto it = cpuid_.begin(); it != cpuid_.end();) {
    it = it->first.first == leaf ? cpuid_.erase(it) : std::next(it);
  }
}

void SimCpu::SetCpuidBits(uint32_t leaf, int reg, uint32_t bits, bool on) {
  bool any = false;
  for (auto& [key, regs] : cpuid_) {
    if (key.first != leaf) continue;
    any = true;
    RegisterOf(regs, reg) = on ? (RegisterOf(regs, reg) | bits) : (RegisterOf(regs, reg) & ~bits);
  }
  if (!any && on) {
    pvops_cpuid_regs regs{};
    RegisterOf(regs, reg) = bits;
    SetCpuid(leaf, regs);
  }
}

void SimCpu::SetHypervisorLeaf(uint32_t base, uint32_t max_leaf, std::string_view signature12) {
  char sig[12] = {};
  std::memcpy(sig, signature12.data(), std::min<size_t>(signature12.size(), 12));
  pvops_cpuid_regs r{};
  r.eax = max_leaf;
  std::memcpy(&r.ebx, sig, 4);
  std::memcpy(&r.ecx, sig + 4, 4);
  std::memcpy(&r.edx, sig + 8, 4);
  SetCpuid(base, r);
}

const pvops_cpuid_regs* SimCpu::FindCpuid(uint32_t leaf, uint32_t subleaf) const {
  if (auto it = cpuid_.find({leaf, subleaf}); it != cpuid_.end()) return &it->second;
  if (auto it = cpuid_.find({leaf, kAnySubleaf}); it != cpuid_.end()) return &it->second;
  return nullptr;
}

pvops_cpuid_regs SimCpu::PeekCpuid(uint32_t leaf, uint32_t subleaf) const {
  if (const pvops_cpuid_regs* r = FindCpuid(leaf, subleaf)) return *r;
  if (cpuid_miss_ == CpuidMiss::kEchoLastBasicLeaf) {
    const pvops_cpuid_regs* leaf0 = FindCpuid(0, 0);
    const uint32_t max_basic = leaf0 != nullptr ? leaf0->eax : 0;
    if (leaf > max_basic) {
      if (const pvops_cpuid_regs* last = FindCpuid(max_basic, subleaf)) return *last;
    }
  }
  return pvops_cpuid_regs{};
}

pvops_cpuid_regs SimCpu::ExecCpuid(uint32_t leaf, uint32_t subleaf) {
  Step(Exit::kCpuid);
  return PeekCpuid(leaf, subleaf);
}

// ---- MSRs ------------------------------------------------------------------------------

void SimCpu::SetMsr(uint32_t msr, uint64_t value) { msrs_[msr] = value; }
void SimCpu::EraseMsr(uint32_t msr) { msrs_.erase(msr); }
bool SimCpu::HasMsr(uint32_t msr) const { return msrs_.count(msr) != 0; }

uint64_t SimCpu::Msr(uint32_t msr) const {
  auto it = msrs_.find(msr);
  if (it == msrs_.end()) {
    ADD_FAILURE() << "MSR 0x" << std::hex << msr << " is not present in the simulated CPU";
    return 0;
  }
  return it->second;
}

void SimCpu::HandleMsrs(uint32_t first, uint32_t last, MsrReadFn read, MsrWriteFn write) {
  msr_devices_.push_back({first, last, std::move(read), std::move(write)});
}

const SimCpu::MsrDevice* SimCpu::FindMsrDevice(uint32_t msr) const {
  for (auto it = msr_devices_.rbegin(); it != msr_devices_.rend(); ++it) {
    if (msr >= it->first && msr <= it->last) return &*it;
  }
  return nullptr;
}

std::optional<uint64_t> SimCpu::ExecRdmsr(uint32_t msr) {
  Step(Exit::kRdmsr);
  std::optional<uint64_t> value;
  if (const MsrDevice* dev = FindMsrDevice(msr); dev != nullptr && dev->read) {
    value = dev->read(msr);
  } else if (auto it = msrs_.find(msr); it != msrs_.end()) {
    value = it->second;
  }
  if (!value) Step(Exit::kMsrFault);
  msr_log_.push_back({current_cpu_, msr, false, value.value_or(0), !value});
  return value;
}

bool SimCpu::ExecWrmsr(uint32_t msr, uint64_t value) {
  Step(Exit::kWrmsr);
  bool ok = false;
  if (const MsrDevice* dev = FindMsrDevice(msr); dev != nullptr && dev->write) {
    ok = dev->write(msr, value);
  } else if (auto it = msrs_.find(msr); it != msrs_.end()) {
    it->second = value;
    ok = true;
  }
  if (!ok) Step(Exit::kMsrFault);
  msr_log_.push_back({current_cpu_, msr, true, value, !ok});
  return ok;
}

// ---- Ports, MMIO, physical memory ------------------------------------------------------

void SimCpu::HandlePorts(uint16_t first, uint16_t last, PortReadFn read, PortWriteFn write) {
  port_devices_.push_back({first, last, std::move(read), std::move(write)});
}

const SimCpu::PortDevice* SimCpu::FindPortDevice(uint16_t port) const {
  for (auto it = port_devices_.rbegin(); it != port_devices_.rend(); ++it) {
    if (port >= it->first && port <= it->last) return &*it;
  }
  return nullptr;
}

uint32_t SimCpu::ExecIn(uint16_t port, uint8_t size) {
  Step(Exit::kPortIn);
  const uint32_t all_ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
  uint32_t value = all_ones;
  if (const PortDevice* dev = FindPortDevice(port); dev != nullptr && dev->read) {
    value = dev->read(port, size) & all_ones;
  }
  port_log_.push_back({current_cpu_, port, size, false, value});
  return value;
}

void SimCpu::ExecOut(uint16_t port, uint8_t size, uint32_t value) {
  Step(Exit::kPortOut);
  port_log_.push_back({current_cpu_, port, size, true, value});
  if (const PortDevice* dev = FindPortDevice(port); dev != nullptr && dev->write) {
    dev->write(port, size, value);
  }
}

void SimCpu::MapMmio(const volatile void* base, size_t length, MmioReadFn read, MmioWriteFn write) {
  mmio_regions_.push_back(
      {reinterpret_cast<uintptr_t>(base), length, std::move(read), std::move(write)});
}

const SimCpu::MmioRegion* SimCpu::FindMmio(uintptr_t address) const {
  for (auto it = mmio_regions_.rbegin(); it != mmio_regions_.rend(); ++it) {
    if (address >= it->base && address - it->base < it->length) return &*it;
  }
  return nullptr;
}

uint32_t SimCpu::ExecMmioRead(const volatile uint32_t* address) {
  Step(Exit::kMmioRead);
  const auto a = reinterpret_cast<uintptr_t>(address);
  uint32_t value;
  if (const MmioRegion* r = FindMmio(a); r != nullptr && r->read) {
    value = r->read(a - r->base);
  } else {
    value = *address;
  }
  mmio_log_.push_back({current_cpu_, a, false, value});
  return value;
}

void SimCpu::ExecMmioWrite(volatile uint32_t* address, uint32_t value) {
  Step(Exit::kMmioWrite);
  const auto a = reinterpret_cast<uintptr_t>(address);
  mmio_log_.push_back({current_cpu_, a, true, value});
  if (const MmioRegion* r = FindMmio(a); r != nullptr && r->write) {
    r->write(a - r->base, value);
  } else {
    *address = value;
  }
}

void SimCpu::MapPhys(uint64_t pa, void* va, size_t length) {
  phys_regions_.push_back({pa, reinterpret_cast<uintptr_t>(va), length});
}

void* SimCpu::PhysToVirt(uint64_t pa) const {
  for (const PhysRegion& r : phys_regions_) {
    if (pa >= r.pa && pa - r.pa < r.length) return reinterpret_cast<void*>(r.va + (pa - r.pa));
  }
  return nullptr;
}

void* SimCpu::GuestMemory(uint64_t pa) const {
  void* va = PhysToVirt(pa);
  return va != nullptr ? va : reinterpret_cast<void*>(static_cast<uintptr_t>(pa));
}

uint64_t SimCpu::VirtToPhys(const void* va) const {
  const auto v = reinterpret_cast<uintptr_t>(va);
  for (const PhysRegion& r : phys_regions_) {
    if (v >= r.va && v - r.va < r.length) return r.pa + (v - r.va);
  }
  return v;
}

// ---- Hypercalls ------------------------------------------------------------------------

void SimCpu::SetHypercallHandler(arch::HypercallInsn insn, HypercallFn fn) {
  hypercall_handlers_[static_cast<int>(insn)] = std::move(fn);
}

void SimCpu::ExecHypercall(arch::HypercallInsn insn, arch::HypercallRegs& regs) {
  const Exit kind = insn == arch::HypercallInsn::kVmcall ? Exit::kVmcall : Exit::kVmmcall;
  Step(kind);
  hypercalls_.push_back({current_cpu_, kind, regs, nullptr});
  const HypercallFn& fn = hypercall_handlers_[static_cast<int>(insn)];
  if (!fn) {
    ADD_FAILURE() << ExitName(kind) << " with no hypervisor to answer it (#UD on a real CPU)";
    return;
  }
  fn(regs);
}

void SimCpu::ExecCallStub(const void* stub, arch::HypercallRegs& regs) {
  Step(Exit::kStubCall);
  hypercalls_.push_back({current_cpu_, Exit::kStubCall, regs, stub});
  if (!stub_handler_) {
    ADD_FAILURE() << "call into a hypercall page nobody filled";
    return;
  }
  stub_handler_(stub, regs);
}

void SimCpu::ExecBackdoor(arch::HypercallRegs& regs) {
  Step(Exit::kBackdoor);
  hypercalls_.push_back({current_cpu_, Exit::kBackdoor, regs, nullptr});
  // No VMware backdoor: the port reads as an empty bus.
  if (!backdoor_handler_) {
    regs.rax = (regs.rax & ~uint64_t{0xffffffff}) | 0xffffffff;
    return;
  }
  backdoor_handler_(regs);
}

// ---- CPUs, flags, control registers, time ----------------------------------------------

void SimCpu::SetCurrentCpu(uint32_t cpu) {
  if (cpu >= kMaxCpus) {
    ADD_FAILURE() << "the simulated machine has " << kMaxCpus << " CPUs, not " << cpu + 1;
    return;
  }
  current_cpu_ = cpu;
}

void SimCpu::RunOnCpu(uint32_t cpu, const std::function<void()>& fn) {
  const uint32_t previous = current_cpu_;
  SetCurrentCpu(cpu);
  fn();
  current_cpu_ = previous;
}

void SimCpu::Step(Exit kind) {
  tsc_ += ticks_per_instruction_;
  ++exits_[static_cast<uint32_t>(kind)];
}

uint64_t SimCpu::ExecSaveFlags() {
  Step(Exit::kSaveFlags);
  return X86_EFLAGS_FIXED | (state().interrupts_enabled ? X86_EFLAGS_IF : 0);
}

void SimCpu::ExecRestoreFlags(uint64_t flags) {
  Step(Exit::kRestoreFlags);
  state().interrupts_enabled = (flags & X86_EFLAGS_IF) != 0;
}

void SimCpu::ExecCli() {
  Step(Exit::kCli);
  state().interrupts_enabled = false;
}

void SimCpu::ExecSti() {
  Step(Exit::kSti);
  state().interrupts_enabled = true;
}

void SimCpu::DeadHalt() const {
  std::fprintf(stderr, "sim: CPU %u halted with interrupts off: the machine stops here\n",
               current_cpu_);
  std::fflush(stderr);
  _exit(kDeadHaltExitCode);
}

void SimCpu::ExecHlt() {
  Step(Exit::kHlt);
  if (on_halt_) {
    on_halt_();
  } else if (!state().interrupts_enabled) {
    DeadHalt();
  }
}

void SimCpu::ExecStiHlt() {
  Step(Exit::kSti);
  state().interrupts_enabled = true;
  ExecHlt();
}

void SimCpu::ExecPause() {
  Step(Exit::kPause);
  if (on_pause_) on_pause_();
}

uint64_t SimCpu::ExecReadCr2() {
  Step(Exit::kReadCr2);
  return state().cr2;
}

uint64_t SimCpu::ExecReadCr3() {
  Step(Exit::kReadCr3);
  return state().cr3;
}

void SimCpu::ExecWriteCr3(uint64_t value) {
  Step(Exit::kWriteCr3);
  state().cr3 = value;
  cr3_writes_.push_back({current_cpu_, value});
}

uint64_t SimCpu::ExecReadCr4() {
  Step(Exit::kReadCr4);
  return state().cr4;
}

void SimCpu::ExecWriteCr4(uint64_t value) {
  Step(Exit::kWriteCr4);
  state().cr4 = value;
  cr4_writes_.push_back({current_cpu_, value});
}

void SimCpu::ExecWriteCr0(uint64_t value) {
  Step(Exit::kWriteCr0);
  state().cr0 = value;
}

uint64_t SimCpu::ExecReadCr8() {
  Step(Exit::kCr8);
  return state().cr8;
}

void SimCpu::ExecWriteCr8(uint64_t value) {
  Step(Exit::kCr8);
  state().cr8 = value;
}

void SimCpu::ExecLidt(const void* base, uint16_t limit) {
  Step(Exit::kLoadTable);
  state().tables.idt_base = reinterpret_cast<uintptr_t>(base);
  state().tables.idt_limit = limit;
}

void SimCpu::ExecLgdt(const void* base, uint16_t limit, uint16_t code, uint16_t data) {
  Step(Exit::kLoadTable);
  TableRegisters& t = state().tables;
  t.gdt_base = reinterpret_cast<uintptr_t>(base);
  t.gdt_limit = limit;
  t.cs = code;
  t.data = data;
}

void SimCpu::ExecLtr(uint16_t selector) {
  Step(Exit::kLoadTable);
  state().tables.tr = selector;
}

void SimCpu::ExecInvlpg(uint64_t va) {
  Step(Exit::kInvlpg);
  invlpgs_.push_back({current_cpu_, va});
}

uint64_t SimCpu::ExecRdtsc() {
  Step(Exit::kRdtsc);
  if (on_rdtsc_) on_rdtsc_();
  return tsc_;
}

// ---- Logs ------------------------------------------------------------------------------

uint64_t SimCpu::total_exits() const {
  uint64_t sum = 0;
  for (uint64_t n : exits_) sum += n;
  return sum;
}

std::vector<uint32_t> SimCpu::PortWrites(uint16_t port) const {
  std::vector<uint32_t> values;
  for (const PortAccess& a : port_log_) {
    if (a.write && a.port == port) values.push_back(a.value);
  }
  return values;
}

std::vector<uint64_t> SimCpu::MsrWrites(uint32_t msr) const {
  std::vector<uint64_t> values;
  for (const MsrAccess& a : msr_log_) {
    if (a.write && a.msr == msr && !a.faulted) values.push_back(a.value);
  }
  return values;
}

void SimCpu::ClearLogs() {
  port_log_.clear();
  msr_log_.clear();
  mmio_log_.clear();
  cr3_writes_.clear();
  cr4_writes_.clear();
  invlpgs_.clear();
  hypercalls_.clear();
}

// ---- The current CPU -------------------------------------------------------------------

void Install(SimCpu* cpu) { g_current = cpu; }

SimCpu& Current() {
  if (g_current == nullptr) {
    std::fprintf(stderr, "sim: library code ran an instruction with no SimCpu installed\n");
    std::abort();
  }
  return *g_current;
}

}  // namespace pvops::sim
