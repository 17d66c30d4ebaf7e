// SPDX-License-Identifier: MIT
// Interrupts as Xen delivers them: event channels. Each port is bound to one vCPU; Xen sets its
// pending bit (shared_info), the matching selector bit and evtchn_upcall_pending in that vCPU's
// vcpu_info, then enters the guest's event callback (PV) or raises the callback vector (HVM).
// The library binds one port per (CPU, vector) for IPIs, VIRQ_TIMER per CPU for the one-shot
// timer, and a masked per-CPU port that SCHEDOP_poll waits on for the lock kick. On PV the
// upcall mask in vcpu_info is the interrupt flag: no privileged instruction involved.

#include "backends/xen/xen.h"
#include "core/patch.h"
#include "hw/lapic.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/sched.h>
#include <xen/version.h>

namespace pvops::xen {
namespace {

enum class PortKind : uint8_t { kFree, kTimer, kIpi, kKick };
// Two bytes a port: the table has one for each port the 2-level ABI can signal.
struct PortInfo {
  PortKind kind : 2;
  uint16_t vector : 8;  // kIpi
  uint16_t cpu : 6;     // the logical CPU the port is bound to
};
static_assert(sizeof(PortInfo) == 2);
static_assert(kMaxCpus <= 64, "PortInfo::cpu holds 6 bits");

PortInfo g_ports[kMaxPorts];
constexpr uint32_t kBitsPerWord = sizeof(xen_ulong_t) * 8;
// A vCPU whose events keep arriving while it scans stops after this many rounds; the rest
// stay pending and re-raise the upcall once it returns.
constexpr uint32_t kMaxScanRounds = 64;

bool PortInRange(evtchn_port_t port) { return port != 0 && port < kMaxPorts; }

volatile xen_ulong_t& PendingWord(evtchn_port_t port) {
  return g_state.shared->evtchn_pending[port / kBitsPerWord];
}
volatile xen_ulong_t& MaskWord(evtchn_port_t port) {
  return g_state.shared->evtchn_mask[port / kBitsPerWord];
}
xen_ulong_t PortBit(evtchn_port_t port) { return xen_ulong_t{1} << (port % kBitsPerWord); }

int64_t EventOp(uint32_t cmd, void* arg) {
  return Hypercall(__HYPERVISOR_event_channel_op, cmd, reinterpret_cast<uintptr_t>(arg));
}

// Unmasked after the port's owner and purpose are recorded: an event may arrive at once.
void UnmaskPort(evtchn_port_t port) {
  __atomic_fetch_and(&MaskWord(port), ~PortBit(port), __ATOMIC_SEQ_CST);
  // An event that arrived while masked raised no upcall: Xen re-raises it on EVTCHNOP_unmask.
  if (PortPending(port)) {
    evtchn_unmask op{port};
    (void)EventOp(EVTCHNOP_unmask, &op);
  }
}

[[nodiscard]] pvops_status CheckedPort(int64_t rc, evtchn_port_t port, evtchn_port_t* out) {
  if (rc != 0) return StatusFromXen(rc);
  if (!PortInRange(port)) return PVOPS_ERR_BAD_DATA;  // not a port the 2-level ABI can signal
  *out = port;
  return PVOPS_OK;
}

[[nodiscard]] pvops_status BindVirq(uint32_t virq, uint32_t vcpu, evtchn_port_t* out) {
  evtchn_bind_virq op{};
  op.virq = virq;
  op.vcpu = vcpu;
  return CheckedPort(EventOp(EVTCHNOP_bind_virq, &op), op.port, out);
}

[[nodiscard]] pvops_status BindIpi(uint32_t vcpu, evtchn_port_t* out) {
  evtchn_bind_ipi op{};
  op.vcpu = vcpu;
  return CheckedPort(EventOp(EVTCHNOP_bind_ipi, &op), op.port, out);
}

void ClosePort(evtchn_port_t port) {
  evtchn_close op{port};
  (void)EventOp(EVTCHNOP_close, &op);
}

// The IPI port for (cpu, vector), bound on first use; `cpu` is online, so it has its area. Two
// CPUs binding the same pair at once both bind; the loser closes its port.
evtchn_port_t IpiPort(uint32_t cpu, uint8_t vector, pvops_status* status) {
  CpuPart& target = *Part(cpu);
  uint16_t* slot = &target.ipi_ports[vector];
  evtchn_port_t port = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (port != 0) return port;
  *status = BindIpi(target.cpu.vcpu_id, &port);
  if (*status != PVOPS_OK) return 0;
  g_ports[port] = PortInfo{PortKind::kIpi, vector, static_cast<uint16_t>(cpu)};
  uint16_t expected = 0;
  if (!__atomic_compare_exchange_n(slot, &expected, static_cast<uint16_t>(port), false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    g_ports[port] = PortInfo{};
    ClosePort(port);
    return expected;
  }
  UnmaskPort(port);
  return port;
}

void Dispatch(evtchn_port_t port) {
  const PortInfo info = g_ports[port];
  switch (info.kind) {
    case PortKind::kTimer: OnTimerEvent(); break;
    case PortKind::kIpi: RunHandler(info.vector); break;
    case PortKind::kKick:  // masked: SCHEDOP_poll sees it, no upcall does
    case PortKind::kFree: break;
  }
}

// Entering Xen returns through its event-delivery check: the cheapest way to take an upcall
// that became pending while masked (Linux's xen_force_evtchn_callback).
void ForceUpcall() { (void)Hypercall(__HYPERVISOR_xen_version, XENVER_version, 0); }

void CallbackVectorHandler(uint8_t, void*) {
  HandleUpcall();
  // Xen injected the vector directly (not through the LAPIC's ISR): no EOI is owed.
  ThisCpu().skip_next_eoi = 1;
}

// Before shared_info is mapped, vcpu_info reads come here: events masked, nothing pending.
vcpu_info g_boot_vcpu_info = {0, 1, 0, {}, {}};

}  // namespace

void RunHandler(uint8_t vector) {
  const core::IrqHandler handler = core::GetIrqHandler(vector);
  if (handler.fn != nullptr) handler.fn(vector, handler.ctx);
}

volatile vcpu_info* VcpuInfo(uint32_t cpu) {
  if (g_state.shared == nullptr) return &g_boot_vcpu_info;
  // A CPU without an area reads the boot CPU's slot, as it shares its area.
  const CpuPart* part = Part(cpu);
  const uint32_t vcpu = part != nullptr ? part->cpu.vcpu_id : Part(0)->cpu.vcpu_id;
  return &g_state.shared->vcpu_info[vcpu % kMaxCpus];
}

// Init runs before other CPUs have their areas: the boot CPU's ports are the only ones.
void ResetEvents() {
  for (PortInfo& p : g_ports) p = PortInfo{};
  for (uint16_t& port : Part(0)->ipi_ports) port = 0;
}

PVOPS_BOOT_CODE bool CloseBoundPort(evtchn_port_t port) {
  if (!PortInRange(port)) return true;
  MaskPort(port);
  ClearPending(port);
  g_ports[port] = PortInfo{};
  evtchn_close op{port};
  return EventOp(EVTCHNOP_close, &op) == 0;
}

void MaskPort(evtchn_port_t port) {
  __atomic_fetch_or(&MaskWord(port), PortBit(port), __ATOMIC_SEQ_CST);
}

void ClearPending(evtchn_port_t port) {
  __atomic_fetch_and(&PendingWord(port), ~PortBit(port), __ATOMIC_SEQ_CST);
}

bool PortPending(evtchn_port_t port) {
  return (__atomic_load_n(&PendingWord(port), __ATOMIC_SEQ_CST) & PortBit(port)) != 0;
}

[[nodiscard]] pvops_status SendEvent(evtchn_port_t port) {
  evtchn_send op{port};
  return StatusFromXen(EventOp(EVTCHNOP_send, &op));
}

[[nodiscard]] PVOPS_BOOT_CODE pvops_status BindPerCpuEvents(uint32_t cpu) {
  CpuPart* part = Part(cpu);
  if (part == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  PerCpu& c = part->cpu;
  // A PV vCPU starts with a 10 ms periodic VIRQ_TIMER: off, so the port fires only for the
  // one-shot timer. An HVM vCPU has none; Xen answers OK either way.
  (void)Hypercall(__HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, c.vcpu_id, 0);
  if (c.timer_port == 0) {
    evtchn_port_t port;
    if (const pvops_status st = BindVirq(VIRQ_TIMER, c.vcpu_id, &port); st != PVOPS_OK) return st;
    g_ports[port] = PortInfo{PortKind::kTimer, 0, static_cast<uint16_t>(cpu)};
    c.timer_port = port;
    UnmaskPort(port);
  }
  if (c.kick_port == 0) {
    evtchn_port_t port;
    if (const pvops_status st = BindIpi(c.vcpu_id, &port); st != PVOPS_OK) return st;
    g_ports[port] = PortInfo{PortKind::kKick, 0, static_cast<uint16_t>(cpu)};
    MaskPort(port);  // only ever polled
    c.kick_port = port;
  }
  return PVOPS_OK;
}

void HandleUpcall() {
  kCounters.Count(Counter::kEventUpcalls);
  const uint32_t cpu = core::ThisCpu();
  volatile vcpu_info* v = VcpuInfo(cpu);
  volatile shared_info* s = g_state.shared;
  if (s == nullptr) return;
  for (uint32_t round = 0; round < kMaxScanRounds; ++round) {
    __atomic_store_n(&v->evtchn_upcall_pending, uint8_t{0}, __ATOMIC_SEQ_CST);
    xen_ulong_t selector =
        __atomic_exchange_n(&v->evtchn_pending_sel, xen_ulong_t{0}, __ATOMIC_SEQ_CST);
    while (selector != 0) {
      const uint32_t word = static_cast<uint32_t>(__builtin_ctzl(selector));
      selector &= selector - 1;
      xen_ulong_t ready = s->evtchn_pending[word] & ~s->evtchn_mask[word];
      while (ready != 0) {
        const uint32_t bit = static_cast<uint32_t>(__builtin_ctzl(ready));
        ready &= ready - 1;
        const evtchn_port_t port = word * kBitsPerWord + bit;
        const PortInfo info = g_ports[port];
        // Other vCPUs' ports share the word: theirs to handle.
        if (info.kind != PortKind::kFree && info.cpu != cpu) continue;
        ClearPending(port);
        Dispatch(port);
      }
    }
    if (__atomic_load_n(&v->evtchn_upcall_pending, __ATOMIC_SEQ_CST) == 0) break;
  }
}

uint64_t PvSaveFlags() { return ThisVcpuInfo()->evtchn_upcall_mask != 0 ? 0 : X86_EFLAGS_IF; }

// Xen saves the faulting address there before it bounces a #PF to the kernel.
uint64_t PvReadCr2() { return ThisVcpuInfo()->arch.cr2; }

void PvIrqDisable() {
  ThisVcpuInfo()->evtchn_upcall_mask = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void PvIrqEnable() {
  volatile vcpu_info* v = ThisVcpuInfo();
  v->evtchn_upcall_mask = 0;
  // Unmask, then look: an event that came while masked waits for a way into Xen and back.
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (v->evtchn_upcall_pending != 0) ForceUpcall();
}

void PvRestoreFlags(uint64_t flags) {
  if ((flags & X86_EFLAGS_IF) != 0)
    PvIrqEnable();
  else
    PvIrqDisable();
}

void PvHalt() {
  if (ThisVcpuInfo()->evtchn_upcall_mask != 0) {
    // Interrupts off: sleep until any event of ours turns pending, leaving it to the caller
    // (SCHEDOP_block would unmask and run the handler inside the caller's masked region).
    sched_poll poll{};
    poll.nr_ports = 0;
    poll.timeout = 0;
    (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, Arg(&poll));
    return;
  }
  (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0);
}

// SCHEDOP_block unmasks events and checks for pending ones atomically: sti; hlt for PV.
void PvSafeHalt() { (void)Hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0); }

void PvEoi() {}  // clearing the pending bit was the acknowledgement

[[nodiscard]] PVOPS_BOOT_CODE pvops_status SetUpCallbackVector(Reason* why) {
  if ((g_state.features & (1u << XENFEAT_hvm_callback_vector)) == 0) {
    why->Add("Xen offers no callback vector (XENFEAT_hvm_callback_vector)");
    return PVOPS_ERR_UNSUPPORTED;
  }
  if (const pvops_status st =
          core::SetIrqHandler(PVOPS_XEN_HVM_CALLBACK_VECTOR, CallbackVectorHandler, nullptr);
      st != PVOPS_OK)
    return st;
  xen_hvm_param param{};
  param.domid = DOMID_SELF;
  param.index = HVM_PARAM_CALLBACK_IRQ;
  param.value = (uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56) | PVOPS_XEN_HVM_CALLBACK_VECTOR;
  const int64_t rc = Hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, Arg(&param));
  if (rc != 0) {
    (void)core::SetIrqHandler(PVOPS_XEN_HVM_CALLBACK_VECTOR, nullptr, nullptr);
    why->Add("HVMOP_set_param(CALLBACK_IRQ) answered ").AddDec(0 - static_cast<uint64_t>(rc));
    return StatusFromXen(rc);
  }
  return PVOPS_OK;
}

void HvmEoi() {
  PerCpu& c = ThisCpu();
  if (c.skip_next_eoi != 0) {
    c.skip_next_eoi = 0;
    return;
  }
  hw::LapicEoi();
}

// Built for size: the event-channel hypercall, not this loop, is what an IPI costs.
[[nodiscard]] [[clang::minsize]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector) {
  if (cpus == nullptr || vector < 32) return PVOPS_ERR_INVALID;
  bool all_ready = true;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    if (cpu >= kMaxCpus || core::Cpu(cpu).online == 0) return PVOPS_ERR_INVALID;
    all_ready = all_ready && Part(cpu)->cpu.ready != 0;
  }
  // A target whose events Xen refused (the per-CPU rule): HVM's LAPIC reaches every CPU; a PV
  // CPU without events never came up.
  if (!all_ready) return IsPv() ? PVOPS_ERR_INVALID : core::kNativeOps.irq.send_ipi(cpus, vector);
  for (uint32_t cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    pvops_status st = PVOPS_OK;
    const evtchn_port_t port = IpiPort(cpu, vector, &st);
    if (port == 0) return st;
    st = SendEvent(port);
    core::Count(core::Counter::kIpiHypercalls);
    if (st != PVOPS_OK) return st;
    core::Count(core::Counter::kIpisSent);
  }
  return PVOPS_OK;
}

[[nodiscard]] pvops_status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx) {
  // The callback vector carries every event channel: it stays the library's.
  if (!IsPv() && vector == PVOPS_XEN_HVM_CALLBACK_VECTOR) return PVOPS_ERR_INVALID;
  return core::SetIrqHandler(vector, handler, ctx);
}

}  // namespace pvops::xen

// Callee-saved thunks of the PV irq-flag ops (xen_patch.cc); here, beside their targets, so
// that each call is to a symbol this object defines.
PVOPS_CALLEE_SAVE_THUNK(pvops_xen_pv_save_flags_thunk, pvops::xen::PvSaveFlags)
PVOPS_CALLEE_SAVE_THUNK(pvops_xen_pv_restore_flags_thunk, pvops::xen::PvRestoreFlags)
PVOPS_CALLEE_SAVE_THUNK(pvops_xen_pv_irq_disable_thunk, pvops::xen::PvIrqDisable)
PVOPS_CALLEE_SAVE_THUNK(pvops_xen_pv_irq_enable_thunk, pvops::xen::PvIrqEnable)

extern "C" void pvops_xen_event_upcall(void) { pvops::xen::HandleUpcall(); }
