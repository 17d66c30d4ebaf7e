// SPDX-License-Identifier: MIT
// The platform ops on Xen: the console (console_io), leaving the machine, bringing up vCPUs
// (PV: VCPUOP_initialise with a register context, then VCPUOP_up) and the per-CPU set-up.

#include <asm/processor-flags.h>

#include "backends/xen/xen.h"
#include "core/cpu_area.h"
#include "hw/lapic.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/arch-x86/cpuid.h>
#include <xen/callback.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/physdev.h>
#include <xen/sched.h>

// xen_pv_entry.S: one entry per exception vector, kPvTrapEntryBytes apart, each jumping on to
// the kernel's handler that pvops_xen_pv_gate_targets names; the event and failsafe callbacks.
extern "C" const char pvops_xen_pv_trap_entries[];
extern "C" const char pvops_xen_pv_event_entry[];
extern "C" const char pvops_xen_pv_failsafe_entry[];
// Where each exception vector's entry goes on to: the kernel's gate, by load_idt.
extern "C" uint64_t pvops_xen_pv_gate_targets[pvops::xen::kPvTrapVectors];
uint64_t pvops_xen_pv_gate_targets[pvops::xen::kPvTrapVectors];

#ifdef PVOPS_SIM_CPU
// The host tests only compare addresses: stand-ins for the assembly.
extern "C" const char
    pvops_xen_pv_trap_entries[pvops::xen::kPvTrapVectors * pvops::xen::kPvTrapEntryBytes] = {};
extern "C" const char pvops_xen_pv_event_entry[1] = {};
extern "C" const char pvops_xen_pv_failsafe_entry[1] = {};
extern "C" void pvops_xen_pv_interrupt_return() {}
#endif

namespace pvops::xen {
namespace {

// QEMU's isa-debug-exit: the status a test harness sees (docs/guest-protocol.md).
constexpr uint16_t kDebugExitPort = 0xf4;
constexpr uint32_t kMaxTraps = 256;

// What the kernel registered with pvops_xen_pv_set_entry_points; copied into every new vCPU.
struct EntryPoints {
  const trap_info* traps;
  uint32_t trap_count;
  uint64_t event_callback;
  uint64_t failsafe_callback;
};
EntryPoints g_entry;
// The trap table load_idt builds: every exception but NMI, and the terminator.
trap_info g_pv_traps[kPvTrapVectors];

constexpr uint8_t kVectorNmi = 2;  // Xen delivers NMIs through a callback, never the table
constexpr uint8_t kVectorGeneralProtection = 13;

// A 64-bit IDT gate.
struct IdtGate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t attributes;  // present, DPL, type
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);
constexpr uint8_t kGatePresent = 0x80;
constexpr uint8_t kGateTypeMask = 0x0e;  // 0xe interrupt gate, 0xf trap gate
constexpr uint8_t kGateTypeTrapBit = 0x01;
constexpr uint8_t kTrapMasksEvents = 4;  // trap_info.flags: Xen's TI_SET_IF
// One vCPU context (5 KiB: too big for a stack); start_cpu runs on one CPU at a time.
vcpu_guest_context g_context;

int64_t RegisterCallback(uint16_t type, uint16_t flags, uint64_t address) {
  callback_register cb{};
  cb.type = type;
  cb.flags = flags;
  cb.address = address;
  return Hypercall(__HYPERVISOR_callback_op, CALLBACKOP_register, Arg(&cb));
}

// A PV guest may touch an I/O port only with a virtual IOPL, and only dom0 holds the
// debug-exit port. SCHEDOP_shutdown(poweroff) would leave Xen halted under QEMU: reboot is
// the end Xen acts on (QEMU -no-reboot then exits).
void PvExitPortThenReboot(bool dom0, uint32_t code) {
  if (dom0) {
    physdev_set_iopl iopl{};
    iopl.iopl = 1;
    if (Hypercall(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, Arg(&iopl)) == 0)
      arch::outl(kDebugExitPort, code);
  }
  sched_shutdown reboot{};
  reboot.reason = SHUTDOWN_reboot;
  (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, Arg(&reboot));
}

[[noreturn]] void HaltForGood() {
  for (;;) {
    if (IsPv()) {
      PvIrqDisable();
      PvHalt();
    } else {
      arch::cli();
      arch::hlt();
    }
  }
}

}  // namespace

CpuPart* Part(uint32_t cpu) {
  core::CpuArea* area = core::AreaOf(cpu);
  return area != nullptr ? &area->xen : nullptr;
}
CpuPart& ThisPart() { return core::ThisArea().xen; }

void ConsoleWrite(const char* text, size_t len) {
  if (text == nullptr || len == 0) return;
  (void)Hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, len, Arg(text));
}

void Shutdown(uint32_t code) {
  if (IsPv()) {
    PvExitPortThenReboot(g_state.dom0, code);
  } else {
    arch::outl(kDebugExitPort, code);
    sched_shutdown reboot{};
    reboot.reason = SHUTDOWN_reboot;
    (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, Arg(&reboot));
  }
  HaltForGood();
}

[[nodiscard]] pvops_status SetEntryPoints(const void* trap_table, uint64_t event_callback,
                                          uint64_t failsafe_callback) {
  if (trap_table == nullptr || event_callback == 0 || failsafe_callback == 0)
    return PVOPS_ERR_INVALID;
  // A PV kernel's page was filled by Xen before it ran; nothing else may take this path.
  if (g_state.mode != Mode::kPv && g_state.mode != Mode::kNone) return PVOPS_ERR_UNSUPPORTED;
  if (!StubLooksFilled(__HYPERVISOR_set_trap_table)) return PVOPS_ERR_UNSUPPORTED;
  const auto* traps = static_cast<const trap_info*>(trap_table);
  uint32_t count = 0;
  while (count < kMaxTraps && traps[count].address != 0) ++count;
  if (count == kMaxTraps) return PVOPS_ERR_INVALID;  // no terminator where Xen stops reading
  if (const int64_t rc = Hypercall(__HYPERVISOR_set_trap_table, Arg(traps)); rc != 0)
    return StatusFromXen(rc);
  if (const int64_t rc = RegisterCallback(CALLBACKTYPE_event, 0, event_callback); rc != 0)
    return StatusFromXen(rc);
  // A fault while Xen reloads the guest's segments: handled with events masked.
  if (const int64_t rc =
          RegisterCallback(CALLBACKTYPE_failsafe, CALLBACKF_mask_events, failsafe_callback);
      rc != 0)
    return StatusFromXen(rc);
  g_entry = EntryPoints{traps, count, event_callback, failsafe_callback};
  return PVOPS_OK;
}

[[nodiscard]] pvops_status PvLoadIdt(const void* idt, uint16_t limit) {
  if (idt == nullptr || limit < kPvTrapVectors * sizeof(IdtGate) - 1) return PVOPS_ERR_INVALID;
  const auto* gates = static_cast<const IdtGate*>(idt);
  uint32_t n = 0;
  for (uint32_t vector = 0; vector < kPvTrapVectors; ++vector) {
    const IdtGate& gate = gates[vector];
    pvops_xen_pv_gate_targets[vector] = 0;
    if ((gate.attributes & kGatePresent) == 0) continue;
    if ((gate.attributes & kGateTypeMask) != kGateTypeMask) return PVOPS_ERR_INVALID;
    pvops_xen_pv_gate_targets[vector] =
        gate.offset_low | uint64_t{gate.offset_mid} << 16 | uint64_t{gate.offset_high} << 32;
    if (vector == kVectorNmi) continue;
    // Flags: the gate's DPL, and an interrupt gate's IF cleared as the event mask set.
    const bool masks = (gate.attributes & kGateTypeTrapBit) == 0;
    g_pv_traps[n++] = trap_info{
        static_cast<uint8_t>(vector),
        static_cast<uint8_t>(((gate.attributes >> 5) & 3) | (masks ? kTrapMasksEvents : 0)),
        FLAT_KERNEL_CS,
        reinterpret_cast<uintptr_t>(pvops_xen_pv_trap_entries) + vector * kPvTrapEntryBytes};
  }
  // The failsafe callback goes on to the #GP handler.
  if (pvops_xen_pv_gate_targets[kVectorGeneralProtection] == 0) return PVOPS_ERR_INVALID;
  g_pv_traps[n] = trap_info{};
  return SetEntryPoints(g_pv_traps, reinterpret_cast<uintptr_t>(pvops_xen_pv_event_entry),
                        reinterpret_cast<uintptr_t>(pvops_xen_pv_failsafe_entry));
}

// Xen keeps its own GDT with the FLAT_* selectors, and a PV vCPU has no TSS: the kernel's
// stack for ring transitions is Xen's to switch.
[[nodiscard]] pvops_status PvLoadGdt(const void*, uint16_t, uint16_t, uint16_t) {
  return PVOPS_ERR_UNSUPPORTED;
}
[[nodiscard]] pvops_status PvLoadTr(uint16_t) { return PVOPS_ERR_UNSUPPORTED; }

// Xen checks the descriptor and writes it by its machine address, loaded GDT page or not.
[[nodiscard]] pvops_status PvWriteGdtEntry(void* gdt, uint32_t index, uint64_t descriptor) {
  if (gdt == nullptr) return PVOPS_ERR_INVALID;
  const uint64_t machine = PhysToMachine(core::VirtToPhys(static_cast<uint64_t*>(gdt) + index));
  if (machine == kInvalidFrame) return PVOPS_ERR_INVALID;
  return StatusFromXen(Hypercall(__HYPERVISOR_update_descriptor, machine, descriptor));
}

[[nodiscard]] pvops_status PvSetKernelStack(void*, uint64_t stack_top) {
  return StatusFromXen(Hypercall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, stack_top));
}

// Only TS of CR0 is the guest's to set.
[[nodiscard]] pvops_status PvWriteCr0(uint64_t value) {
  return StatusFromXen(Hypercall(__HYPERVISOR_fpu_taskswitch, (value & X86_CR0_TS) != 0));
}

// Xen emulates the write, keeping these bits its own (a global page, performance counters
// from user mode, PCIDs): asked for, they would be refused.
[[nodiscard]] pvops_status PvWriteCr4(uint64_t value) {
  arch::write_cr4(value & ~uint64_t{X86_CR4_PGE | X86_CR4_PCE | X86_CR4_PCIDE});
  return PVOPS_OK;
}

// No local APIC: no task priority.
uint64_t PvReadTpr() { return 0; }
[[nodiscard]] pvops_status PvWriteTpr(uint64_t) { return PVOPS_ERR_UNSUPPORTED; }

[[nodiscard]] pvops_status PvStartCpu(uint32_t cpu, uint32_t, const pvops_cpu_start* start) {
  if (start == nullptr || start->entry == nullptr || start->stack_top == 0)
    return PVOPS_ERR_INVALID;
  if (cpu == 0 || cpu >= kMaxCpus) return PVOPS_ERR_INVALID;
  if (g_entry.traps == nullptr) return PVOPS_ERR_UNSUPPORTED;  // no trap table to give it
  const uint64_t root_mfn = PfnToMfn(start->cr3 / X86_PAGE_SIZE);
  if (root_mfn == kInvalidFrame) return PVOPS_ERR_INVALID;

  // The kernel handed the CPU its area before starting it: the entry needs its record.
  CpuPart* part = Part(cpu);
  if (part == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  // A PV vCPU's number is the kernel's CPU index: there is no APIC to name it otherwise.
  PerCpu& c = part->cpu;
  c.vcpu_id = cpu;
  c.cr3 = start->cr3;
  VcpuInfo(cpu)->evtchn_upcall_mask = 1;  // the entry runs with interrupts off

  vcpu_guest_context& ctx = g_context;
  ctx = vcpu_guest_context{};
  ctx.flags = VGCF_in_kernel | VGCF_failsafe_disables_events;
  ctx.user_regs.rip = reinterpret_cast<uintptr_t>(start->entry);
  // As if called: the entry finds its return-address slot where the ABI expects it.
  ctx.user_regs.rsp = start->stack_top - 8;
  ctx.user_regs.rdi = cpu;
  ctx.user_regs.rflags = X86_EFLAGS_FIXED;
  ctx.user_regs.cs = FLAT_KERNEL_CS;
  ctx.user_regs.ss = FLAT_KERNEL_SS;
  ctx.user_regs.ds = ctx.user_regs.es = ctx.user_regs.fs = ctx.user_regs.gs = FLAT_KERNEL_DS;
  for (uint32_t i = 0; i < g_entry.trap_count; ++i) ctx.trap_ctxt[i] = g_entry.traps[i];
  ctx.gdt_ents = 0;  // Xen's own GDT, with the FLAT_* selectors above
  ctx.kernel_ss = FLAT_KERNEL_SS;
  ctx.kernel_sp = start->stack_top;
  ctx.ctrlreg[3] = xen_pfn_to_cr3(root_mfn);
  ctx.event_callback_eip = g_entry.event_callback;
  ctx.failsafe_callback_eip = g_entry.failsafe_callback;

  if (const int64_t rc = Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, cpu, Arg(&ctx));
      rc != 0)
    return StatusFromXen(rc);
  return StatusFromXen(Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_up, cpu, 0));
}

// HVM/PVH: Xen starts the vCPU straight in long mode from a register set, so neither a
// real-mode trampoline nor the vCPU's APIC ID (Xen gives vCPU n the ID 2n) is involved. The
// kernel's CPU n is Xen's vCPU n; cpu_init then confirms it by CPUID leaf base+4.
[[nodiscard]] pvops_status HvmStartCpu(uint32_t cpu, uint32_t, const pvops_cpu_start* start) {
  if (start == nullptr || start->entry == nullptr || start->stack_top == 0)
    return PVOPS_ERR_INVALID;
  if (cpu == 0 || cpu >= kMaxCpus) return PVOPS_ERR_INVALID;
  uint64_t efer = 0;
  if (!arch::rdmsr_safe(X86_MSR_IA32_EFER, &efer)) return PVOPS_ERR_FAULT;
  vcpu_hvm_context ctx{};
  ctx.mode = VCPU_HVM_MODE_64B;
  vcpu_hvm_x86_64& regs = ctx.cpu_regs.x86_64;
  regs.rip = reinterpret_cast<uintptr_t>(start->entry);
  regs.rsp = start->stack_top - 8;  // as if called, like the PV path
  regs.rdi = cpu;
  regs.rflags = X86_EFLAGS_FIXED;  // interrupts off
  regs.cr0 = CR0_STATE;
  regs.cr3 = start->cr3;
  regs.cr4 = arch::read_cr4();  // the boot CPU's paging mode and features
  regs.efer = efer;
  if (const int64_t rc = Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, cpu, Arg(&ctx));
      rc != 0)
    return StatusFromXen(rc);
  return StatusFromXen(Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_up, cpu, 0));
}

namespace {

// What Xen registers per vCPU, each on its own under the per-CPU rule (core/backend.h): a clock
// tuple Xen left unfilled reads the boot CPU's (one clock for all); events refused leave HVM's
// timer and IPIs on the LAPIC, while a PV vCPU has no other way to take an interrupt and stays
// down; a refused runstate area reports no steal. `c.ready` says the events are bound.
[[nodiscard]] PVOPS_BOOT_CODE pvops_status SetUpCpu(uint32_t cpu, PerCpu& c) {
  if (PathOn(PVOPS_XEN_PATH_PVCLOCK)) {
    const pvops_status clock = CheckClock(cpu);
    core::NoteCpuRefused(cpu, " xen clock: ", clock);
    c.boot_clock = clock != PVOPS_OK;
  }
  pvops_status events = PVOPS_OK;
  if (PathOn(PVOPS_XEN_PATH_EVENTS)) {
    events = BindPerCpuEvents(cpu);
    core::NoteCpuRefused(cpu, " events: ", events);
    c.ready = events == PVOPS_OK;
  }
  if (PathOn(PVOPS_XEN_PATH_RUNSTATE))
    core::NoteCpuRefused(cpu, " runstate: ", RegisterRunstate(cpu));
  return IsPv() ? events : PVOPS_OK;
}

}  // namespace

[[nodiscard]] pvops_status PvCpuInit(uint32_t cpu) {
  if (cpu >= kMaxCpus) return PVOPS_ERR_UNSUPPORTED;  // beyond shared_info's vcpu_info slots
  core::PerCpu* record = core::CpuRecord(cpu);
  if (record == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  PerCpu& c = Part(cpu)->cpu;
  c.vcpu_id = cpu;
  record->apic_id = cpu;
  return SetUpCpu(cpu, c);
}

[[nodiscard]] pvops_status HvmCpuInit(uint32_t cpu) {
  // Nothing below depends on the LAPIC: a kernel that maps its APIC later still gets the clock
  // and its events, and hears of the LAPIC failure afterwards.
  const pvops_status lapic = hw::LapicCpuInit(cpu);
  // Xen numbers HVM vCPUs itself; leaf base+4 says which one runs this code.
  uint32_t vcpu = cpu;
  if (g_state.max_leaf >= g_state.base_leaf + 4) {
    const pvops_cpuid_regs r = arch::cpuid(g_state.base_leaf + 4, 0);
    if ((r.eax & XEN_HVM_CPUID_VCPU_ID_PRESENT) != 0) vcpu = r.ebx;
  }
  if (cpu >= kMaxCpus || vcpu >= kMaxCpus) return PVOPS_ERR_UNSUPPORTED;
  CpuPart* part = Part(cpu);
  if (part == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  PerCpu& c = part->cpu;
  c.vcpu_id = vcpu;
  (void)SetUpCpu(cpu, c);
  return lapic;
}

// Init runs before other CPUs have their areas: the boot CPU's record is the only one.
void ResetPlatform() { Part(0)->cpu = PerCpu{}; }

#ifdef PVOPS_SIM_CPU
void ResetEntryPoints() {
  g_entry = EntryPoints{};
  for (uint64_t& target : pvops_xen_pv_gate_targets) target = 0;
}
#endif

}  // namespace pvops::xen

extern "C" void pvops_xen_pv_early_exit(const void* start_info, uint32_t code) {
  using namespace pvops::xen;
  // Only Xen's own stubs may be entered; without them there is nothing to ask.
  if (StubLooksFilled(__HYPERVISOR_sched_op) && StubLooksFilled(__HYPERVISOR_physdev_op)) {
    const auto* si = static_cast<const ::start_info*>(start_info);
    const bool dom0 = StartInfoProblem(si) == nullptr && (si->flags & SIF_INITDOMAIN) != 0;
    PvExitPortThenReboot(dom0, code);
    for (;;) {
      sched_poll poll{};  // no ports: sleeps until any event, which nothing here handles
      (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, Arg(&poll));
    }
  }
  for (;;) pvops::arch::pause();
}

extern "C" pvops_status pvops_xen_pv_set_entry_points(const void* trap_table,
                                                      uint64_t event_callback,
                                                      uint64_t failsafe_callback) {
  return pvops::xen::SetEntryPoints(trap_table, event_callback, failsafe_callback);
}
