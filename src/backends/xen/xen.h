/* SPDX-License-Identifier: MIT */
// The Xen backend's shared state and the functions its files give each other. Xen's ABI comes
// from its public headers (libxen-dev) through core/xen_public.h, never retyped.
//
// Two modes share most of the code:
//  - PV: the guest runs in ring 3 and asks Xen for everything: page-table writes, TLB flushes,
//    the interrupt flag (the upcall mask in vcpu_info), interrupts (event channels);
//  - HVM/PVH: paging and the interrupt flag are native, but time, IPIs, timers and the lock
//    wait/kick go through Xen (pvclock, event channels raised on a callback vector).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>
#include <pvops/xen.h>

#include "core/xen_public.h"  // first: pins the interface version

#include <xen/event_channel.h>
#include <xen/vcpu.h>

#include "arch/x86/arch.h"
#include "arch/x86/registers.h"
#include "backends/xen/xen_backend.h"
#include "core/backend.h"
#include "core/reason.h"
#include "core/runtime.h"

namespace pvops::xen {

using core::Reason;

// vcpu_info lives in shared_info for the first XEN_LEGACY_MAX_VCPUS vCPUs; the backend uses
// only those slots, so it serves at most that many CPUs.
inline constexpr uint32_t kMaxCpus = XEN_LEGACY_MAX_VCPUS;
inline constexpr uint32_t kMaxPorts = EVTCHN_2L_NR_CHANNELS;
inline constexpr uint32_t kStubBytes = 32;
inline constexpr uint32_t kStubCount = 4096 / kStubBytes;
inline constexpr uint64_t kInvalidFrame = ~uint64_t{0};

enum class Mode : uint32_t {
  kNone = 0,
  kPv = PVOPS_XEN_MODE_PV,
  kHvmPage = PVOPS_XEN_MODE_HVM_PAGE,
  kHvmDirect = PVOPS_XEN_MODE_HVM_DIRECT,
};

// What init found; read-only after pvops_init (but for the per-CPU parts).
struct State {
  Mode mode;
  arch::HypercallInsn insn;  // kHvmDirect only
  uint32_t version;          // major << 16 | minor
  uint32_t features;         // XENFEAT_* submap 0
  uint32_t paths;            // PVOPS_XEN_PATH_*
  bool dom0;
  uint32_t base_leaf;  // HVM: the XenVMMXenVMM CPUID block
  uint32_t max_leaf;
  volatile shared_info* shared;
  const start_info* start;  // PV only
};
extern State g_state;

inline bool IsPv() { return g_state.mode == Mode::kPv; }
inline bool PathOn(uint32_t path) { return (g_state.paths & path) != 0; }

static_assert(kMaxPorts <= 0x10000, "CpuPart::ipi_ports holds ports in 16 bits");

// `cpu`'s part of its area (xen_backend.h); nullptr when the CPU has none.
CpuPart* Part(uint32_t cpu);
// The running CPU's part; a CPU without an area shares the boot CPU's.
CpuPart& ThisPart();
inline PerCpu& ThisCpu() { return ThisPart().cpu; }

// This CPU's (or `cpu`'s) vcpu_info inside shared_info.
volatile vcpu_info* VcpuInfo(uint32_t cpu);
inline volatile vcpu_info* ThisVcpuInfo() { return VcpuInfo(core::ThisCpu()); }

// ---- Hypercalls (xen_hypercall.cc) -------------------------------------------------------
// Through the hypercall page (nr * 32), or vmcall/vmmcall in kHvmDirect mode. Counted.
int64_t Hypercall(uint32_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                  uint64_t a4 = 0);
template <typename T>
inline uint64_t Arg(T* pointer) {
  return reinterpret_cast<uintptr_t>(pointer);
}
// Xen's 0 or -errno results as the library's status; BAD_DATA for a positive one.
[[nodiscard]] pvops_status StatusFromXen(int64_t result);
// Whether stub `nr` of the page holds `mov $nr, %eax` (Xen's PV and HVM stubs both do).
bool StubLooksFilled(uint32_t nr);
// The raw hypercall op for the way in init chose (the page, or vmcall/vmmcall directly).
using RawHypercallOp = pvops_status (*)(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                        uint64_t a3, uint64_t a4, int64_t* result);
RawHypercallOp RawHypercallFor(Mode mode, arch::HypercallInsn insn);
// xen_version and get_features; fills g_state.version / features. BAD_DATA on nonsense.
[[nodiscard]] pvops_status ReadVersion(Reason* why);

// ---- start_info (xen_start_info.cc) -------------------------------------------------------
const char* StartInfoProblem(const start_info* si);
const char* StartInfoCmdline(const start_info* si);  // "" when not NUL-terminated

// ---- p2m / m2p (xen_p2m.cc) ---------------------------------------------------------------
// The guest's pseudo-physical frames (pfn) against machine frames (mfn): the p2m list Xen gave
// in start_info and Xen's read-only machine-to-phys table. Identity on HVM.
struct FrameMaps {
  const volatile xen_pfn_t* p2m;
  uint64_t nr_pages;
  const volatile xen_ulong_t* m2p;
  uint64_t m2p_entries;  // max_mfn + 1
};
// Installs checked lists; nullptr, or why they cannot be trusted.
const char* InstallFrameMaps(const FrameMaps& maps);
const FrameMaps& Frames();
uint64_t PfnToMfn(uint64_t pfn);  // kInvalidFrame for a ballooned pfn; identity past nr_pages
uint64_t MfnToPfn(uint64_t mfn);  // kInvalidFrame for a frame that is not the guest's
// Entries: the frame of a present entry converted; non-present entries untouched.
pvops_pte PteToMachine(pvops_pte pte);  // kInvalidFrame when the frame has no mfn
pvops_pte PteFromMachine(pvops_pte pte);
// PV: the p2m entry of `pfn` (kInvalidFrame: ballooned), for frames given back and taken again.
void SetP2m(uint64_t pfn, uint64_t mfn);
uint64_t PhysToMachine(uint64_t phys);
uint64_t MachineToPhys(uint64_t machine);

// ---- Batching (xen_multicall.cc) ----------------------------------------------------------
// Page-table updates and local flushes: queued into this CPU's multicall batch in lazy mode,
// issued at once otherwise. Returns the hypercall's status when issued now, OK when queued.
[[nodiscard]] pvops_status SubmitMmuUpdate(uint64_t pte_machine_address, pvops_pte machine_value);
[[nodiscard]] pvops_status SubmitMmuext(const mmuext_op& op);
[[nodiscard]] pvops_status SubmitUpdateVaMapping(uint64_t va, pvops_pte machine_value,
                                                 uint64_t flags);
// One multicall of `count` entries issued now (not a lazy batch); the first failure's status.
[[nodiscard]] pvops_status Multicall(multicall_entry_t* calls, uint32_t count);
// Issues whatever this CPU queued (one multicall); OK when nothing failed.
[[nodiscard]] pvops_status FlushBatch();
void LazyBegin();
void LazyFlush();
void LazyEnd();
void ResetBatches();

// ---- PV MMU (xen_mmu.cc) -----------------------------------------------------------------
// The boot CPU runs on the top-level table at `root_pfn` (checked against Xen's CR3).
void InitPvMmu(uint64_t root_pfn);
uint64_t ReadCr3();
void WriteCr3(uint64_t cr3);
void SetPte(pvops_pte* ptep, pvops_pte value);
void UpdatePte(pvops_pte* ptep, uint64_t va, pvops_pte value);
pvops_pte ReadPte(const pvops_pte* ptep);
[[nodiscard]] pvops_status AllocPt(uint64_t pfn, uint32_t level);
[[nodiscard]] pvops_status ReleasePt(uint64_t pfn, uint32_t level);
void FlushTlbLocal();
void FlushTlbOne(uint64_t va);
[[nodiscard]] pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end);
[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start, uint64_t end);
// Maps the machine frame at `machine_address` read-write at the page `va` (4 KiB, PV).
[[nodiscard]] pvops_status MapMachinePage(void* va, uint64_t machine_address);
// Sets every mapping of `pfn` the library knows (the env's direct map, the alias windows) to
// the machine entry `machine_pte` (0: unmapped), one multicall of update_va_mapping(flags).
[[nodiscard]] pvops_status RemapAliases(uint64_t pfn, pvops_pte machine_pte, uint64_t flags);
// pvops_xen_pv_add_alias_window; windows outlive pvops_init (a kernel names them before).
[[nodiscard]] pvops_status AddAliasWindow(uint64_t va, uint64_t pa, uint64_t bytes);
#ifdef PVOPS_SIM_CPU
void ResetAliasWindows();  // host tests
#endif

// ---- Event channels and the interrupt flag (xen_events.cc) -------------------------------
void ResetEvents();
[[nodiscard]] pvops_status BindPerCpuEvents(uint32_t cpu);
[[nodiscard]] pvops_status SendEvent(evtchn_port_t port);
void MaskPort(evtchn_port_t port);
// Suspend: masks and closes a port the library bound, and forgets it; false when Xen refused.
bool CloseBoundPort(evtchn_port_t port);
void ClearPending(evtchn_port_t port);
bool PortPending(evtchn_port_t port);
// Runs the handler registered for `vector`, if any (events need no EOI).
void RunHandler(uint8_t vector);
// Scans this CPU's pending ports and runs their handlers; counts one upcall.
void HandleUpcall();
// PV: the upcall mask is the interrupt flag.
uint64_t PvSaveFlags();
void PvRestoreFlags(uint64_t flags);
void PvIrqDisable();
void PvIrqEnable();
void PvHalt();
void PvSafeHalt();
void PvEoi();
// HVM: the callback vector's handler and the EOI that skips it.
[[nodiscard]] pvops_status SetUpCallbackVector(Reason* why);
void HvmEoi();
[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector);
[[nodiscard]] pvops_status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx);

// ---- Time (xen_time.cc) ------------------------------------------------------------------
[[nodiscard]] pvops_status CheckClock(uint32_t cpu);  // BAD_DATA when the tuple was never filled
// The tuple this CPU's clock reads: its own, or the boot CPU's where Xen left its own unfilled.
volatile vcpu_time_info& ThisClock();
uint64_t ClockNs();
uint64_t TscKhz();
[[nodiscard]] pvops_status WallClock(pvops_wall_clock* out);
[[nodiscard]] pvops_status TimerOneshot(uint64_t deadline_ns, uint8_t vector);
// The VIRQ_TIMER port fired on this CPU: runs the one-shot's handler once its deadline passed.
void OnTimerEvent();
[[nodiscard]] pvops_status RegisterRunstate(uint32_t cpu);
uint64_t StealNs(uint32_t cpu);
int VcpuIsPreempted(uint32_t cpu);
void ResetTime();

// ---- Lock (xen_lock.cc) ------------------------------------------------------------------
void LockWait(const volatile uint8_t* ptr, uint8_t value);
void LockKick(uint32_t cpu);

// ---- Platform (xen_platform.cc) ----------------------------------------------------------
void ConsoleWrite(const char* text, size_t len);
[[noreturn]] void Shutdown(uint32_t code);
[[nodiscard]] pvops_status PvStartCpu(uint32_t cpu, uint32_t apic_id, const pvops_cpu_start* start);
[[nodiscard]] pvops_status HvmStartCpu(uint32_t cpu, uint32_t apic_id,
                                       const pvops_cpu_start* start);
[[nodiscard]] pvops_status PvCpuInit(uint32_t cpu);
[[nodiscard]] pvops_status HvmCpuInit(uint32_t cpu);
void ResetPlatform();
// pvops_xen_pv_set_entry_points; they outlive pvops_init (a kernel sets them before).
[[nodiscard]] pvops_status SetEntryPoints(const void* trap_table, uint64_t event_callback,
                                          uint64_t failsafe_callback);
#ifdef PVOPS_SIM_CPU
void ResetEntryPoints();  // host tests
#endif
// The kernel group on a PV vCPU: the trap table from the kernel's IDT, entered through the
// library's stubs (xen_pv_entry.S); no GDT or TSS of the kernel's own; CR2 from vcpu_info.
[[nodiscard]] pvops_status PvLoadIdt(const void* idt, uint16_t limit);
[[nodiscard]] pvops_status PvLoadGdt(const void* gdt, uint16_t limit, uint16_t code_selector,
                                     uint16_t data_selector);
[[nodiscard]] pvops_status PvLoadTr(uint16_t selector);
uint64_t PvReadCr2();
[[nodiscard]] pvops_status PvWriteGdtEntry(void* gdt, uint32_t index, uint64_t descriptor);
[[nodiscard]] pvops_status PvSetKernelStack(void* tss, uint64_t stack_top);
[[nodiscard]] pvops_status PvWriteCr0(uint64_t value);
[[nodiscard]] pvops_status PvWriteCr4(uint64_t value);
uint64_t PvReadTpr();
[[nodiscard]] pvops_status PvWriteTpr(uint64_t priority_class);
// xen_pv_entry.S: HYPERVISOR_iret for the frame on the stack.
extern "C" void pvops_xen_pv_interrupt_return();
inline constexpr uint32_t kPvTrapVectors = 32;  // the exceptions: events carry the rest
// Bytes between two of xen_pv_entry.S's trap entries (pop, pop, jmp through the target).
inline constexpr uint64_t kPvTrapEntryBytes = 9;

// ---- Initialisation (xen_backend.cc, xen_pv.cc, xen_hvm.cc) ------------------------------
// The backend's Init (xen_backend.h) forgets every earlier state, then PV or HVM by the entry.
// Where Xen keeps its own mappings in a PV guest (the m2p lives there). Host tests move it.
struct XenArea {
  uint64_t start, end;
};
extern XenArea g_xen_area;
[[nodiscard]] pvops_status InitPv(const pvops_env& env, pvops_ops* ops, core::BackendReport* report,
                                  Reason* why);
[[nodiscard]] pvops_status InitHvm(const pvops_env& env, const pvops_candidate& found,
                                   pvops_ops* ops, core::BackendReport* report, Reason* why);
// The library's page that becomes shared_info (PV: remapped; HVM: added to the physmap).
void* SharedInfoPage();

}  // namespace pvops::xen
