// SPDX-License-Identifier: MIT
// Moving a running guest to another hypervisor (docs/guest-protocol.md, "Moves"): the move
// port and mailbox, the rendezvous that parks every other CPU, the release of what the
// hypervisor holds, and the resume that makes boot's data flow (detect -> select -> init ->
// callers) once more on whatever hypervisor the guest woke up on.
#include "core/move.h"

#include <pvops/move.h>

#include "arch/x86/arch.h"
#include "core/backend.h"
#include "core/cpu_area.h"
#include "core/oneshot.h"
#include "core/reason.h"
#include "core/runtime.h"

namespace pvops::core {
namespace {

// A CPU that has not parked by then is stuck (interrupts off, or gone): the suspend gives up.
constexpr uint64_t kParkTimeoutNs = 1'000'000'000;
constexpr uint32_t kFourGiB = 0xffffffffu;

enum ParkState : uint8_t { kParkAsked = 1, kParked, kRejoined };

struct MoveState {
  pvops_move_mailbox* mailbox;  // nullptr: no mover
  uint32_t suspended;
  uint32_t request_seen;   // the mover's vector arrived with a request
  uint32_t through_mover;  // the suspend told the mover "ready"
  uint32_t previous_backend;
  uint64_t saved_flags;
  // The rendezvous: parking is open while the boot CPU collects; bumping `release_seq` lets
  // every parked CPU go on.
  uint32_t park_open;
  uint32_t release_seq;
  uint32_t reason_taken;  // the first CPU to fail writes move_reason
  // clock_ns() after a resume: the new backend's own clock plus `offset` (mod 2^64).
  uint64_t (*backend_clock)(void);
  uint64_t offset;
  uint32_t offset_carried;
  // The TSC and its rate at the last reading before the suspend: the guest's own time across
  // the move (the mover hides its pause from the TSC and reports it apart).
  uint64_t last_tsc;
  uint64_t last_tsc_khz;
};
MoveState g_move;

template <typename T>
T Load(const T& v) {
  return __atomic_load_n(&v, __ATOMIC_ACQUIRE);
}
template <typename T>
void Store(T& v, T value) {
  __atomic_store_n(&v, value, __ATOMIC_RELEASE);
}

uint64_t OffsetClockNs() { return g_move.backend_clock() + g_move.offset; }

Reason MoveReason() { return Reason::Continue(g_info.move_reason, sizeof(g_info.move_reason)); }

// Interrupts the old hypervisor has raised but this CPU has not taken (interrupts are off in
// the suspend) are taken now, through the old backend: a mover carries the LAPIC's pending
// vectors to the new VM, where a one-shot that fired here would run its handler a second time
// beside the one the resume arms again.
void TakePendingInterrupts() {
  pvops_irq_enable();
  for (int i = 0; i < 64; ++i) arch::pause();
  pvops_irq_disable();
}

// This CPU's one-shot timer is cancelled on the old backend (its device must not fire into the
// new one) but stays recorded, to be armed again on the new one; then the backend lets go.
// `take_pending`: not in the park handler, whose vector in service holds the others back.
[[nodiscard]] pvops_status ReleaseThisCpu(uint32_t cpu, Reason* why, bool take_pending) {
  PerCpu& me = ThisArea().core;
  if (take_pending) TakePendingInterrupts();
  uint64_t deadline = me.oneshot_deadline;
  const uint8_t vector = me.oneshot_vector;
  if (deadline != 0) (void)pvops_timer_oneshot(0, vector);
  OneshotArmed(deadline, vector);
  if (deadline != 0 && take_pending) {
    // A fire just before the cancel: handled now as due (the record cleared), or armed again
    // as early, which the second cancel undoes.
    TakePendingInterrupts();
    deadline = me.oneshot_deadline;
    if (deadline != 0) (void)pvops_timer_oneshot(0, vector);
    OneshotArmed(deadline, vector);
  }
  const Backend& backend = BackendById(g_info.backend);
  return backend.release_cpu != nullptr ? backend.release_cpu(cpu, why) : PVOPS_OK;
}

// On the backend in the table now (the new one, or the old one when the suspend gave up).
[[nodiscard]] pvops_status RejoinThisCpu(uint32_t cpu) {
  const PerCpu& me = ThisArea().core;
  const uint64_t deadline = me.oneshot_deadline;
  const uint8_t vector = me.oneshot_vector;
  pvops_status st = pvops_cpu_online(cpu);
  if (deadline != 0 && st == PVOPS_OK) st = pvops_timer_oneshot(deadline, vector);
  return st;
}

void RejoinParked() {
  // The text may have been rewritten under this CPU: serialize before running it (SDM 8.1.3).
  (void)arch::cpuid(0, 0);
  PerCpu& me = ThisArea().core;
  me.park_status = RejoinThisCpu(ThisCpu());
  Store(me.park_state, uint8_t{kRejoined});
}

void ParkHandler(uint8_t, void*) {
  const uint32_t seq = Load(g_move.release_seq);
  if (Load(g_move.park_open) == 0) return;  // late: the suspend already gave up on this CPU
  const uint32_t cpu = ThisCpu();
  PerCpu& me = ThisArea().core;
  me.park_seq = seq;
  char text[PVOPS_REASON_LEN];
  Reason why(text, sizeof(text));
  const pvops_status st = ReleaseThisCpu(cpu, &why, false);
  if (st != PVOPS_OK && __atomic_exchange_n(&g_move.reason_taken, 1u, __ATOMIC_ACQ_REL) == 0)
    MoveReason().Add("cpu ").AddDec(cpu).Add(" release: ").Add(text);
  me.park_status = st;
  Store(me.park_state, uint8_t{kParked});
#ifndef PVOPS_SIM_CPU  // host tests run every CPU on one thread: FinishParkForTest spins
  // No call site in this loop: the boot CPU rewrites them meanwhile.
  while (Load(g_move.release_seq) == seq) arch::pause();
  RejoinParked();
#endif
}

// Waits (bounded) until every CPU in `cpus` reached `state` or failed; the first failure's
// status, PVOPS_ERR_TIMEOUT naming the first late CPU, or PVOPS_OK.
[[nodiscard]] pvops_status WaitForCpus(const pvops_cpuset& cpus, uint8_t state, const char* what) {
  const uint64_t deadline = pvops_clock_ns() + kParkTimeoutNs;
  for (;;) {
    uint32_t late = PVOPS_MAX_CPUS;
    for (uint32_t cpu = PVOPS_MAX_CPUS; cpu-- > 1;) {
      if (!pvops_cpuset_has(&cpus, cpu)) continue;
      const PerCpu& c = Cpu(cpu);
      if (Load(c.park_state) < state)
        late = cpu;
      else if (c.park_status != PVOPS_OK)
        return c.park_status;
    }
    if (late == PVOPS_MAX_CPUS) return PVOPS_OK;
    if (pvops_clock_ns() > deadline) {
      MoveReason().Add("cpu ").AddDec(late).Add(" did not ").Add(what).Add(" within 1 s");
      return PVOPS_ERR_TIMEOUT;
    }
    arch::pause();
  }
}

// Lets every parked CPU go on (each runs its online on the table now) and waits for them.
[[nodiscard]] pvops_status ReleaseParked(const pvops_cpuset& parked) {
  __atomic_fetch_add(&g_move.release_seq, 1u, __ATOMIC_ACQ_REL);
  return WaitForCpus(parked, kRejoined, "come online again");
}

pvops_cpuset ParkedCpus() {
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  for (uint32_t cpu = 1; cpu < PVOPS_MAX_CPUS; ++cpu)
    if (Load(Cpu(cpu).park_state) == kParked) pvops_cpuset_add(&cpus, cpu);
  return cpus;
}

pvops_cpuset OtherOnlineCpus() {
  pvops_cpuset cpus;
  pvops_cpuset_clear(&cpus);
  for (uint32_t cpu = 1; cpu < PVOPS_MAX_CPUS; ++cpu) {
    PerCpu* c = CpuRecord(cpu);
    if (c == nullptr || c->online == 0) continue;
    c->park_state = kParkAsked;
    c->park_status = PVOPS_OK;
    pvops_cpuset_add(&cpus, cpu);
  }
  return cpus;
}

bool AnyCpu(const pvops_cpuset& cpus) {
  for (uint64_t word : cpus.bits)
    if (word != 0) return true;
  return false;
}

void MoveRequestHandler(uint8_t, void*) {
  const pvops_move_mailbox* box = g_move.mailbox;
  // Only the one value the protocol defines is a request: anything else is ignored.
  if (box != nullptr && __atomic_load_n(&box->request, __ATOMIC_ACQUIRE) == PVOPS_MOVE_REQUEST_MOVE)
    Store(g_move.request_seen, 1u);
}

// The pause the mover reports, if it is believable.
uint64_t BelievedPause(Reason* why) {
  if (g_move.through_mover == 0) {
    why->Separate().Add("no mover: same VM, pause 0");
    return 0;
  }
  const volatile pvops_move_mailbox* box = g_move.mailbox;
  const uint64_t pause = box->pause_ns;
  const uint64_t hops = box->hops;
  if (hops != uint64_t{g_info.moves} + 1)
    why->Separate().Add("mailbox hops ").AddDec(hops).Add(", expected ").AddDec(g_info.moves + 1);
  if (pause > PVOPS_MOVE_MAX_PAUSE_NS) {
    why->Separate().Add("pause_ns ").AddDec(pause).Add(" implausible: 0 used");
    return 0;
  }
  return pause;
}

// A clock reading and the TSC at the same moment: the middle of the narrowest of a few
// rdtsc-bracketed reads. With one rdtsc beside one read, a vCPU the host stops between the two
// puts that whole stop into the carried clock, or takes it out.
struct ClockAtTsc {
  uint64_t ns, tsc;
};
[[gnu::noinline]] ClockAtTsc ReadClockAtTsc(uint64_t (*clock)(void)) {
  ClockAtTsc best{};
  uint64_t narrowest = ~uint64_t{0};
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint64_t before = arch::rdtsc();
    const uint64_t ns = clock();
    const uint64_t width = arch::rdtsc() - before;
    if (width < narrowest) {
      narrowest = width;
      best = {ns, before + width / 2};
    }
  }
  return best;
}

// The guest's own time from the last reading before the suspend to `tsc`; 0, with the reason,
// when the TSC went back or ran implausibly far.
uint64_t OwnTimeSinceSuspend(uint64_t tsc, Reason* why) {
  const uint64_t cycles = tsc - g_move.last_tsc;
  const uint64_t khz = g_move.last_tsc_khz;
  // At most a minute of cycles at 10 GHz: kept below 2^64 when multiplied by 10^6 below.
  constexpr uint64_t kMostCycles = 600'000'000'000ull;
  if (khz == 0 || cycles > kMostCycles) {
    why->Separate().Add("own time by the TSC implausible: 0 used");
    return 0;
  }
  return cycles * 1'000'000 / khz;
}

}  // namespace

bool ReleaseMsr(uint32_t msr, Reason* why) {
  if (arch::wrmsr_safe(msr, 0)) return true;
  why->Separate().Add("MSR ").AddHex(msr).Add(" refused 0");
  return false;
}

void ForgetMoves() {
  g_move = MoveState{};
  (void)SetIrqHandler(kVectorPark, ParkHandler, nullptr);
}

#ifdef PVOPS_SIM_CPU
bool FinishParkForTest() {
  const PerCpu& me = ThisArea().core;
  if (Load(me.park_state) != kParked || Load(g_move.release_seq) == me.park_seq) return false;
  RejoinParked();
  return true;
}
#endif

bool ClockOffsetCarried() { return g_move.offset_carried != 0; }

uint64_t BackendTimeNs(uint64_t clock_ns) {
  if (g_move.offset_carried == 0) return clock_ns;
  const uint64_t ns = clock_ns - g_move.offset;
  // A deadline before the backend's origin is long past: as soon as possible.
  return static_cast<int64_t>(g_move.offset) > 0 && clock_ns < g_move.offset ? 1 : ns;
}

}  // namespace pvops::core

using pvops::core::g_info;
using pvops::core::g_move;

extern "C" pvops_status pvops_move_register(pvops_move_mailbox* mailbox, uint8_t vector) {
  using namespace pvops::core;
  // Xen PV runs in ring 3: the port access would fault.
  if (Env().entry == PVOPS_ENTRY_XEN_PV) return PVOPS_ERR_UNSUPPORTED;
  const uint64_t pa = mailbox != nullptr ? VirtToPhys(mailbox) : 1;
  if (pa % PVOPS_PAGE_SIZE != 0 || pa > kFourGiB || vector < 32 || vector == kVectorPark ||
      vector == kVectorTlbFlush || vector == kVectorSpurious)
    return PVOPS_ERR_INVALID;
  if (pvops::arch::inl(PVOPS_MOVE_PORT) != PVOPS_MOVE_PORT_MAGIC) return PVOPS_ERR_UNSUPPORTED;
  *mailbox = pvops_move_mailbox{};
  mailbox->magic = PVOPS_MOVE_PORT_MAGIC;
  mailbox->version = PVOPS_MOVE_MAILBOX_VERSION;
  mailbox->vector = vector;
  if (const pvops_status st = SetIrqHandler(vector, MoveRequestHandler, nullptr); st != PVOPS_OK)
    return st;
  g_move.mailbox = mailbox;
  pvops::arch::outl(PVOPS_MOVE_PORT, static_cast<uint32_t>(pa));
  return PVOPS_OK;
}

extern "C" int pvops_move_pending(void) {
  const pvops_move_mailbox* box = g_move.mailbox;
  if (box == nullptr || g_move.suspended != 0) return 0;
  return pvops::core::Load(g_move.request_seen) != 0 ||
         __atomic_load_n(&box->request, __ATOMIC_ACQUIRE) == PVOPS_MOVE_REQUEST_MOVE;
}

extern "C" pvops_status pvops_move_ask(void) {
  if (g_move.mailbox == nullptr) return PVOPS_ERR_UNSUPPORTED;
  pvops::arch::outl(PVOPS_MOVE_PORT, PVOPS_MOVE_PORT_ASK);
  return PVOPS_OK;
}

extern "C" int pvops_move_plan_done(void) {
  const pvops_move_mailbox* box = g_move.mailbox;
  return box != nullptr && __atomic_load_n(&box->plan_done, __ATOMIC_ACQUIRE) == 1;
}

extern "C" pvops_status pvops_suspend(void) {
  using namespace pvops::core;
  Reason why(g_info.move_reason, sizeof(g_info.move_reason));
  // A PV guest cannot run a single native op: there is no gap to move it through.
  if (Env().entry == PVOPS_ENTRY_XEN_PV) {
    why.Add("Xen PV: no native ops to run on between backends");
    return PVOPS_ERR_UNSUPPORTED;
  }
  if (g_move.suspended != 0 || ThisCpu() != 0) {
    why.Add("suspend on the boot CPU, once before each resume");
    return PVOPS_ERR_INVALID;
  }
  const uint64_t flags = pvops_irq_save();
  g_move.reason_taken = 0;
  const pvops_cpuset others = OtherOnlineCpus();
  Store(g_move.park_open, 1u);
  pvops_status st = PVOPS_OK;
  if (AnyCpu(others)) {
    st = pvops_send_ipi(&others, kVectorPark);
    if (st != PVOPS_OK)
      why.Add("park IPI: ").Add(pvops_status_name(st));
    else
      st = WaitForCpus(others, kParked, "park");
  }
  Store(g_move.park_open, 0u);
  if (st != PVOPS_OK) {
    // Whoever parked comes back on the old backend; a late CPU finds parking closed.
    (void)ReleaseParked(ParkedCpus());
    pvops_restore_flags(flags);
    return st;
  }
  // Read through the old backend while it still runs: the clock goes on from here.
  g_move.last_tsc_khz = pvops_tsc_khz();
  const ClockAtTsc last = ReadClockAtTsc(pvops_table.time.clock_ns);
  g_move.last_tsc = last.tsc;
  g_info.move_last_ns = last.ns;
  if (const pvops_status cpu0 = ReleaseThisCpu(0, &why, true); cpu0 != PVOPS_OK)
    why.Separate().Add("cpu 0 release: ").Add(pvops_status_name(cpu0));
  const Backend& backend = BackendById(g_info.backend);
  if (backend.release != nullptr) {
    if (const pvops_status vm = backend.release(&why.Separate()); vm != PVOPS_OK)
      why.Add(" (").Add(pvops_status_name(vm)).Add(")");
  }
  // Between hypervisors only native ops are safe (a VMI ROM or a hypercall page may be gone
  // on the other side): the native table, and native call sites.
  g_move.previous_backend = g_info.backend;
  g_info.backend = PVOPS_BACKEND_NATIVE;
  pvops_table = kNativeOps;
  (void)PatchEnvSites(&g_info);
  g_move.saved_flags = flags;
  g_move.suspended = 1;
  g_info.move_state = PVOPS_MOVE_SUSPENDED;
  g_move.through_mover = g_move.mailbox != nullptr;
  if (g_move.mailbox != nullptr) {
    __atomic_store_n(&g_move.mailbox->request, PVOPS_MOVE_REQUEST_NONE, __ATOMIC_RELEASE);
    g_move.request_seen = 0;
    // The mover saves every vCPU here: this `out` returns on the new VM.
    pvops::arch::outl(PVOPS_MOVE_PORT, PVOPS_MOVE_PORT_READY);
  }
  return PVOPS_OK;
}

extern "C" pvops_status pvops_resume(void) {
  using namespace pvops::core;
  if (g_move.suspended == 0) return PVOPS_ERR_INVALID;
  Reason why = MoveReason();
  const uint64_t pause = BelievedPause(&why);
  if (g_move.through_mover != 0) ++g_info.moves;
  // Boot's data flow once more, from here: detect -> select -> init on this hypervisor.
  ChooseBackend(&g_info);
  g_info.previous_backend = g_move.previous_backend;
  // The clock goes on from the last reading plus the guest's own time and the mover's pause,
  // whatever the new backend reads.
  g_move.backend_clock = pvops_table.time.clock_ns;
  g_info.move_pause_ns = pause;
  const ClockAtTsc now = ReadClockAtTsc(g_move.backend_clock);
  g_info.move_own_ns = OwnTimeSinceSuspend(now.tsc, &why);
  g_info.move_first_ns = g_info.move_last_ns + g_info.move_own_ns + pause;
  g_move.offset = g_info.move_first_ns - now.ns;
  g_move.offset_carried = 1;
  pvops_table.time.clock_ns = OffsetClockNs;
  (void)PatchEnvSites(&g_info);
  pvops_status st = RejoinThisCpu(0);
  if (st != PVOPS_OK) why.Separate().Add("cpu 0 online: ").Add(pvops_status_name(st));
  const pvops_status others = ReleaseParked(ParkedCpus());
  if (others != PVOPS_OK) {
    why.Separate().Add("a CPU's online: ").Add(pvops_status_name(others));
    if (st == PVOPS_OK) st = others;
  }
  g_move.suspended = 0;
  g_info.move_state = PVOPS_MOVE_RUNNING;
  ++g_info.resumes;
  pvops_restore_flags(g_move.saved_flags);
  return st;
}
