// SPDX-License-Identifier: MIT
#include "kernel/traps.h"

#include <pvops/pvops.hpp>

#include "kernel/console.h"
#include "kernel/layout.h"
#include "kernel/percpu.h"
#include "kernel/probe.h"

namespace guest {
namespace {

constexpr uint8_t kVectorGeneralProtection = 13;
constexpr uint8_t kVectorPageFault = 14;
constexpr uint8_t kFirstInterruptVector = 32;

constexpr const char* kMnemonics[32] = {
    "DE",    "DB",    "NMI",   "BP",    "OF",    "BR",    "UD", "NM", "DF", "CSO",  "TS",
    "NP",    "SS",    "GP",    "PF",    "RES15", "MF",    "AC", "MC", "XM", "VE",   "CP",
    "RES22", "RES23", "RES24", "RES25", "RES26", "RES27", "HV", "VC", "SX", "RES31"};

// How deep each CPU is in the fault reporter; beyond 1 the reporter itself faulted.
uint32_t g_fault_depth[kMaxCpus];
// Whether the CPU's FAULT line went out before a nested fault: if not, the nested report must
// be the FAULT line (fixed text: the formatter may be what faulted).
uint32_t g_fault_line_printed[kMaxCpus];

// The index from the stack base is trusted only within bounds: a fault may come from a CPU
// whose stack is wrecked.
uint32_t FaultingCpuSlot() {
  const uint32_t cpu = ThisCpu();
  return cpu < kMaxCpus ? cpu : 0;
}

[[noreturn]] void EndRunFromFault(uint32_t depth) {
  if (depth <= 3) pvops::Shutdown(kExitFault);
  // The table's shutdown faulted too: last resort on the PVH path is the exit port itself.
  if (depth == 4) asm volatile("outl %0, $0xf4" ::"a"(kExitFault));
  for (;;) asm volatile("cli; hlt");
}

[[noreturn]] void ReportFault(const TrapFrame& frame) {
  const uint32_t slot = FaultingCpuSlot();
  const uint32_t depth = __atomic_add_fetch(&g_fault_depth[slot], 1, __ATOMIC_RELAXED);
  if (depth == 1) {
    const uint64_t vector = frame.vector & 0xff;
    const char* name = vector < 32 ? kMnemonics[vector] : "INT";
    if (vector == kVectorPageFault) {
      Print("FAULT: vector=%lu (#%s) rip=0x%016lx error=0x%lx cr2=0x%016lx cpu=%u\n", vector, name,
            frame.rip, frame.error, pvops::ReadCr2(), ThisCpu());
    } else {
      Print("FAULT: vector=%lu (#%s) rip=0x%016lx error=0x%lx cpu=%u\n", vector, name, frame.rip,
            frame.error, ThisCpu());
    }
    g_fault_line_printed[slot] = 1;
    Print("# fault context: cs=0x%lx rflags=0x%lx rsp=0x%016lx rax=0x%lx rdi=0x%lx rsi=0x%lx\n",
          frame.cs, frame.rflags, frame.rsp, frame.rax, frame.rdi, frame.rsi);
  } else if (depth == 2) {
    static constexpr char kNestedFault[] =
        "FAULT: vector=nested (a fault inside the fault reporter)\n";
    static constexpr char kNestedNote[] = "# the fault reporter faulted; ending the run\n";
    if (g_fault_line_printed[slot])
      pvops::ConsoleWrite(kNestedNote, sizeof(kNestedNote) - 1);
    else
      pvops::ConsoleWrite(kNestedFault, sizeof(kNestedFault) - 1);
  }
  EndRunFromFault(depth);
}

bool FixupProbe(TrapFrame& frame) {
  if (frame.rip != reinterpret_cast<uint64_t>(probe_read64_insn)) return false;
  frame.rip = reinterpret_cast<uint64_t>(probe_read64_fixup);
  return true;
}

}  // namespace

void Panic(const char* what) {
  const uint32_t slot = FaultingCpuSlot();
  const uint32_t depth = __atomic_add_fetch(&g_fault_depth[slot], 1, __ATOMIC_RELAXED);
  if (depth == 1) Print("FAULT: vector=none (panic) %s cpu=%u\n", what, ThisCpu());
  EndRunFromFault(depth);
}

}  // namespace guest

extern "C" void trap_dispatch(guest::TrapFrame* frame) {
  using namespace guest;
  const uint8_t vector = static_cast<uint8_t>(frame->vector);
  if (vector >= kFirstInterruptVector) {
    pvops_handle_interrupt(vector);
    return;
  }
  if (vector == kVectorGeneralProtection || vector == kVectorPageFault) {
    uint64_t rip = frame->rip;
    if (pvops_fixup_fault(&rip, vector) == 1) {
      frame->rip = rip;
      return;
    }
    if (FixupProbe(*frame)) return;
  }
  ReportFault(*frame);
}
