// The bench mode's ops, in printing order. Each op times the pvops path and then its raw
// baseline in the same run with the same loop around them (sampler.h), so their ratio carries
// even though TCG's cycles are virtual.
#include "bench/bench.h"

#include <pvops/pvops.hpp>

#include "bench/bench_report.h"
#include "bench/raw_insns.h"
#include "bench/raw_lapic.h"
#include "bench/sampler.h"
#include "kernel/console.h"
#include "kernel/deadline.h"
#include "kernel/format.h"
#include "kernel/layout.h"
#include "kernel/paging.h"
#include "kernel/smp.h"
#include "suite/null_hypercall.h"

// The backends' hypercall pages, for the raw "direct call of the stub" baseline. Weak: an image
// linked without a backend still links, and the baseline is then reported unavailable.
extern "C" const uint8_t pvops_hv_hypercall_page[] __attribute__((weak));
extern "C" const uint8_t pvops_xen_hypercall_page[] __attribute__((weak));

namespace guest::bench {
namespace {

constexpr uint8_t kVectorBenchIpi = 0x50;
constexpr uint8_t kVectorBenchFlush = 0x51;
constexpr uint8_t kVectorBenchTimer = 0x52;
constexpr uint32_t kTargetCpu = 1;
constexpr uint32_t kPteBatch = 64;
constexpr uint32_t kXenStubBytes = 32;
// Clear of the mmu cases' 2 MiB windows in the same top-level slot.
constexpr uint64_t kBenchVa = kTestVaBase + 64 * (2ull << 20);
// A far deadline: timer_oneshot is timed as the arming call, and nothing may fire meanwhile.
constexpr uint64_t kFarDeadlineNs = 10'000'000'000;
// A bound against hanging, not a measurement: well above the longest a loaded host deschedules
// a nested vCPU (guest/README.md, "Known limits").
constexpr uint64_t kRemoteWaitMs = 1000;

struct Context {
  BenchReport report{};
  CounterWindow window{};
  CounterWindow raw_window{};  // SamplePaired's raw side
  Paired paired{};
  bool raw_privileged = false;  // false in Xen PV's ring 3, where cli, invlpg, rdmsr, in/out fault
  RawLapic lapic{};
  bool lapic_ok = false;
  uint32_t target_apic_id = kTargetCpu;  // read on the target itself when the LAPIC is usable
  uint64_t remote_wait_cycles = 0;
  // The bench's own mapping: kPteBatch PTEs of kBenchVa.. flipped between two frames.
  bool mapped = false;
  TablePath path{};
  void* frames[2]{};
  pvops_pte values[2][kPteBatch]{};
};

Context g;  // static: handlers on the other CPU and late interrupts find it alive

// Runs on the target CPU: its own APIC ID, for the raw IPIs.
void ReadTargetApicId(void*) { g.target_apic_id = g.lapic.Id(); }

// Handlers on the target CPU: acknowledge by counting (a flush request also flushes first).
uint32_t g_acks;
void AckHandler(uint8_t, void*) { __atomic_add_fetch(&g_acks, 1u, __ATOMIC_RELEASE); }
void FlushAckHandler(uint8_t, void*) {
  RawInvlpg(kBenchVa);
  __atomic_add_fetch(&g_acks, 1u, __ATOMIC_RELEASE);
}
void IgnoreHandler(uint8_t, void*) {}
uint32_t Acks() { return __atomic_load_n(&g_acks, __ATOMIC_ACQUIRE); }

// Spins until the ack count passes `before`, bounded by TSC cycles (no library call inside the
// timed loop). False on timeout.
bool WaitAck(uint32_t before) {
  const uint64_t start = ReadTsc();
  while (Acks() == before) {
    if (ReadTsc() - start > g.remote_wait_cycles) return false;
    asm volatile("pause");
  }
  return true;
}

bool IsAmd() {
  const pvops_cpuid_regs v = pvops::Cpuid(0);
  return v.ebx == 0x68747541 || v.ebx == 0x6f677948;  // "Auth"enticAMD, "Hygo"nGenuine
}

// ---- ops ---------------------------------------------------------------------------------

void BenchEmpty(const char* op) {
  const Summary s = Sample(kSamples, &g.window, [](uint32_t) {});
  g.report.Line(op, "raw", "nothing between the two rdtsc (the timer's own floor)", s,
                g.window.deltas());
  g.report.Pass(op);
}

void BenchIrqSaveRestore(const char* op) {
  Summary s = Sample(kSamples, &g.window, [](uint32_t) { pvops_restore_flags(pvops_irq_save()); });
  // Xen PV's flag is the upcall mask in vcpu_info: the line says how often Xen was entered.
  g.report.LineWithHypercalls(op, "pvops",
                              "pvops_irq_save + pvops_restore_flags (three table calls)", s,
                              g.window.deltas());
  if (g.raw_privileged) {
    s = Sample(kSamples, &g.window, [](uint32_t) { RawRestoreFlags(RawSaveFlagsCli()); });
    g.report.Line(op, "raw", "pushf; pop; cli; push; popf", s, g.window.deltas());
  } else {
    g.report.Unavailable(op, "raw", "cli/popf of IF are not the guest's in Xen PV ring 3");
  }
  g.report.Pass(op);
}

// The library's call and the bare mechanism, each answer checked against the row's: any caller
// looks at what came back. `raw` returns the hypervisor's answer; timed in batches (SamplePaired).
template <typename Raw>
void HypercallPair(const char* op, const suite::NullHypercall* row, const char* raw_what,
                   Raw&& raw) {
  static pvops_status bad_status;
  static bool bad_raw;
  bad_status = PVOPS_OK;
  bad_raw = false;
  SamplePaired(
      &g.paired, &g.window, &g.raw_window,
      [row] {
        int64_t result;
        const pvops::Status st = pvops::Hypercall(row->nr, &result, row->args[0], row->args[1],
                                                  row->args[2], row->args[3], row->args[4]);
        if (st.code() != row->expected_status)
          bad_status = st.code();
        else if (st.ok() && result != row->expected_result)
          bad_status = PVOPS_ERR_BAD_DATA;
      },
      [row, &raw] {
        if (raw(row) != row->expected_result) bad_raw = true;
      });
  char what[160];
  Format(what, sizeof(what), "pvops_hypercall %s through the table, answer checked", row->what);
  g.report.PairedLines(op, what, raw_what, g.paired);
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "%s returned %s", row->what, pvops_status_name(bad_status));
  if (bad_raw) return g.report.Fail(op, "the raw %s gave another answer", row->what);
  g.report.Pass(op);
}

void BenchHypercallNull(const char* op) {
  const pvops::Backend backend = pvops::ChosenBackend();
  const char* name = pvops_backend_name(static_cast<uint32_t>(backend));
  const suite::NullHypercall* row = suite::NullHypercallFor(backend);
  if (row == nullptr) return g.report.Skip(op, "no null-hypercall row for backend %s", name);
  if (row->skip_reason != nullptr) return g.report.Skip(op, "%s", row->skip_reason);

  const char* no_raw = "no raw hypercall for this backend";
  switch (backend) {
    case pvops::Backend::kKvm: {
      const bool amd = IsAmd();
      return HypercallPair(op, row, amd ? "bare vmmcall, KVM ABI" : "bare vmcall, KVM ABI",
                           [amd](const suite::NullHypercall* r) {
                             return RawKvmHypercall(amd, r->nr, r->args[0], r->args[1], r->args[2],
                                                    r->args[3]);
                           });
    }
    case pvops::Backend::kHyperV:
      no_raw = "the Hyper-V hypercall page is not linked in";
      if (pvops_hv_hypercall_page == nullptr) break;
      return HypercallPair(op, row, "direct call of the hypercall-page stub, fast-call registers",
                           [](const suite::NullHypercall* r) {
                             return static_cast<int64_t>(RawHypervStubCall(
                                 pvops_hv_hypercall_page, r->nr, r->args[0], r->args[1]));
                           });
    case pvops::Backend::kXen:
      no_raw = "the Xen hypercall page is not linked in";
      if (pvops_xen_hypercall_page == nullptr) break;
      return HypercallPair(
          op, row, "direct call of the hypercall-page stub", [](const suite::NullHypercall* r) {
            return RawXenStubCall(pvops_xen_hypercall_page + r->nr * kXenStubBytes, r->args[0],
                                  r->args[1], r->args[2], r->args[3], r->args[4]);
          });
    case pvops::Backend::kVmi:
      return HypercallPair(
          op, row, "bare backdoor in on port 0x5658", [](const suite::NullHypercall* r) {
            return int64_t{
                RawVmwareBackdoor(static_cast<uint32_t>(r->nr), static_cast<uint32_t>(r->args[0]))};
          });
    default: break;
  }
  static pvops_status bad_status;
  bad_status = PVOPS_OK;
  const Summary s = Sample(kSamples, &g.window, [row](uint32_t) {
    int64_t result;
    const pvops::Status st = pvops::Hypercall(row->nr, &result, row->args[0], row->args[1],
                                              row->args[2], row->args[3], row->args[4]);
    if (st.code() != row->expected_status) bad_status = st.code();
  });
  char what[120];
  Format(what, sizeof(what), "pvops_hypercall %s through the table", row->what);
  g.report.Line(op, "pvops", what, s, g.window.deltas());
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "%s returned %s", row->what, pvops_status_name(bad_status));
  g.report.Unavailable(op, "raw", no_raw);
  g.report.Pass(op);
}

// Reads the 8254's counter 0: a latch command and two reads, three port accesses, each an exit
// wherever a hypervisor emulates the PIT.
uint16_t ReadPitCounter() {
  RawOutb(0x43, 0x00);
  const uint8_t lo = RawInb(0x40);
  const uint8_t hi = RawInb(0x40);
  return static_cast<uint16_t>(lo | (hi << 8));
}

void BenchClockNs(const char* op) {
  Summary s = Sample(kSamples, &g.window, [](uint32_t) { (void)pvops_clock_ns(); });
  g.report.Line(op, "pvops", "pvops_clock_ns", s, g.window.deltas());
  s = Sample(kSamples, &g.window, [](uint32_t) { (void)ReadTsc(); });
  g.report.Line(op, "raw", "rdtsc", s, g.window.deltas());
  if (!g.raw_privileged) {
    g.report.Unavailable(op, "exiting", "no port I/O or MSR read in Xen PV ring 3");
  } else if (pvops::ChosenBackend() == pvops::Backend::kHyperV) {
    constexpr uint32_t kHvTimeRefCount = 0x40000020;
    s = Sample(kSamples, &g.window, [](uint32_t) { (void)RawRdmsr(kHvTimeRefCount); });
    g.report.Line(op, "exiting", "rdmsr HV_X64_MSR_TIME_REF_COUNT", s, g.window.deltas());
  } else {
    s = Sample(kSamples, &g.window, [](uint32_t) { (void)ReadPitCounter(); });
    g.report.Line(op, "exiting", "PIT counter 0 by port I/O (latch, two reads)", s,
                  g.window.deltas());
  }
  g.report.Pass(op);
}

void BenchFlushTlbLocal(const char* op) {
  Summary s = Sample(kSamples, &g.window, [](uint32_t) { pvops_flush_tlb_local(); });
  g.report.Line(op, "pvops", "pvops_flush_tlb_local", s, g.window.deltas());
  if (g.raw_privileged) {
    s = Sample(kSamples, &g.window, [](uint32_t) { RawReloadCr3(); });
    g.report.Line(op, "raw", "mov cr3 back into cr3", s, g.window.deltas());
  } else {
    g.report.Unavailable(op, "raw", "cr3 is Xen's in PV ring 3");
  }
  g.report.Pass(op);
}

void BenchFlushTlbOne(const char* op) {
  Summary s = Sample(kSamples, &g.window, [](uint32_t) { pvops_flush_tlb_one(kBenchVa); });
  g.report.Line(op, "pvops", "pvops_flush_tlb_one", s, g.window.deltas());
  if (g.raw_privileged) {
    s = Sample(kSamples, &g.window, [](uint32_t) { RawInvlpg(kBenchVa); });
    g.report.Line(op, "raw", "invlpg", s, g.window.deltas());
  } else {
    g.report.Unavailable(op, "raw", "invlpg faults in Xen PV ring 3");
  }
  g.report.Pass(op);
}

// Times `send` followed by the wait for the target's acknowledgement; false if one timed out.
template <typename Send>
bool RoundTrips(Summary* s, Send&& send) {
  static bool timed_out;
  timed_out = false;
  *s = Sample(kSamples, &g.window, [&send](uint32_t) {
    if (timed_out) return;
    const uint32_t before = Acks();
    send();
    if (!WaitAck(before)) timed_out = true;
  });
  return !timed_out;
}

bool TargetReady(const char* op) {
  if (!CpuOnline(kTargetCpu)) {
    g.report.Skip(op, "needs a second vCPU (cpu %u offline)", kTargetCpu);
    return false;
  }
  return true;
}

void BenchFlushTlbMulti(const char* op) {
  if (!TargetReady(op)) return;
  const pvops::CpuSet target = pvops::CpuSet::Only(kTargetCpu);
  static pvops_status bad_status;
  bad_status = PVOPS_OK;
  Summary s = Sample(kSamples, &g.window, [&target](uint32_t) {
    const pvops::Status st = pvops::FlushTlbMulti(target, kBenchVa, kBenchVa + kPageBytes);
    if (!st.ok()) bad_status = st.code();
  });
  g.report.Line(op, "pvops", "pvops_flush_tlb_multi({cpu1}, one page), returns once flushed", s,
                g.window.deltas());
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "flush_tlb_multi returned %s", pvops_status_name(bad_status));
  if (!g.raw_privileged || !g.lapic_ok) {
    g.report.Unavailable(op, "raw", "no raw LAPIC access here");
    return g.report.Pass(op);
  }
  if (!pvops::RegisterHandler(kVectorBenchFlush, FlushAckHandler).ok())
    return g.report.Fail(op, "register_handler(0x%x) failed", kVectorBenchFlush);
  const bool ok = RoundTrips(&s, [] { g.lapic.SendIpi(g.target_apic_id, kVectorBenchFlush); });
  (void)pvops::RegisterHandler(kVectorBenchFlush, nullptr);
  if (!ok)
    return g.report.Fail(op, "raw shootdown: cpu 1 did not answer within %lu ms", kRemoteWaitMs);
  g.report.Line(op, "raw", "ICR write of a flush vector, handler invlpg + ack, wait for the ack", s,
                g.window.deltas());
  g.report.Pass(op);
}

void BenchIpiRoundTrip(const char* op) {
  if (!TargetReady(op)) return;
  if (!pvops::RegisterHandler(kVectorBenchIpi, AckHandler).ok())
    return g.report.Fail(op, "register_handler(0x%x) failed", kVectorBenchIpi);
  const pvops::CpuSet target = pvops::CpuSet::Only(kTargetCpu);
  Summary s;
  bool ok = RoundTrips(&s, [&target] { (void)pvops::SendIpi(target, kVectorBenchIpi); });
  if (ok) {
    g.report.Line(op, "pvops", "pvops_send_ipi({cpu1}), its handler acks, wait for the ack", s,
                  g.window.deltas());
    if (g.raw_privileged && g.lapic_ok) {
      ok = RoundTrips(&s, [] { g.lapic.SendIpi(g.target_apic_id, kVectorBenchIpi); });
      if (ok)
        g.report.Line(op, "raw", "ICR write, the same handler acks, wait for the ack", s,
                      g.window.deltas());
    } else {
      g.report.Unavailable(op, "raw", "no raw LAPIC access here");
    }
  }
  (void)pvops::RegisterHandler(kVectorBenchIpi, nullptr);
  if (!ok) return g.report.Fail(op, "cpu 1 did not answer within %lu ms", kRemoteWaitMs);
  g.report.Pass(op);
}

void BenchEoi(const char* op) {
  // No interrupt is in service here, so this is the EOI every backend must still accept; KVM's
  // PV EOI flag is set only at injection, so its fast path shows in the IPI round trip instead.
  Summary s = Sample(kSamples, &g.window, [](uint32_t) { pvops_eoi(); });
  g.report.Line(op, "pvops", "pvops_eoi with no interrupt in service", s, g.window.deltas());
  if (g.raw_privileged && g.lapic_ok) {
    s = Sample(kSamples, &g.window, [](uint32_t) { g.lapic.Eoi(); });
    g.report.Line(op, "raw", g.lapic.x2apic() ? "wrmsr x2APIC EOI" : "xAPIC EOI register store", s,
                  g.window.deltas());
  } else {
    g.report.Unavailable(op, "raw", "no raw LAPIC access here");
  }
  g.report.Pass(op);
}

uint64_t PageVa(uint32_t i) { return kBenchVa + i * kPageBytes; }

// The raw side of both PTE ops: the same 64 entries written by plain stores.
void BenchPteRaw(const char* op) {
  if (g.raw_privileged) {
    const Summary s = Sample(kSamples, &g.window, [](uint32_t n) {
      volatile pvops_pte* slot = g.path.slot[1];
      for (uint32_t i = 0; i < kPteBatch; ++i) slot[i] = g.values[n & 1][i];
    });
    g.report.Line(op, "raw", "64 direct PTE stores", s, g.window.deltas(), kPteBatch);
    pvops_flush_tlb_local();
  } else {
    g.report.Unavailable(op, "raw", "page tables are read-only to a Xen PV guest");
  }
  g.report.Pass(op);
}

void BenchPteEager(const char* op) {
  if (!g.mapped) return g.report.Fail(op, "the bench's mapping could not be built");
  const Summary s = Sample(kSamples, &g.window, [](uint32_t n) {
    for (uint32_t i = 0; i < kPteBatch; ++i)
      pvops_update_pte(g.path.slot[1] + i, PageVa(i), g.values[n & 1][i]);
  });
  g.report.Line(op, "pvops", "64 pvops_update_pte, each issued at once", s, g.window.deltas(),
                kPteBatch);
  pvops_flush_tlb_local();
  BenchPteRaw(op);
}

void BenchPteLazy(const char* op) {
  if (!g.mapped) return g.report.Fail(op, "the bench's mapping could not be built");
  const Summary s = Sample(kSamples, &g.window, [](uint32_t n) {
    pvops_lazy_mmu_begin();
    for (uint32_t i = 0; i < kPteBatch; ++i)
      pvops_update_pte(g.path.slot[1] + i, PageVa(i), g.values[n & 1][i]);
    pvops_lazy_mmu_end();
  });
  g.report.Line(op, "pvops", "lazy_begin, 64 pvops_update_pte, lazy_end (one batch)", s,
                g.window.deltas(), kPteBatch);
  pvops_flush_tlb_local();
  BenchPteRaw(op);
}

void BenchTimerOneshot(const char* op) {
  if (!pvops::RegisterHandler(kVectorBenchTimer, IgnoreHandler).ok())
    return g.report.Fail(op, "register_handler(0x%x) failed", kVectorBenchTimer);
  static uint64_t deadline;
  static pvops_status bad_status;
  deadline = pvops::ClockNs() + kFarDeadlineNs;
  bad_status = PVOPS_OK;
  Summary s = Sample(kSamples, &g.window, [](uint32_t) {
    const pvops::Status st = pvops::TimerOneshot(deadline, kVectorBenchTimer);
    if (!st.ok()) bad_status = st.code();
  });
  const pvops::Status cancel = pvops::TimerOneshot(0, kVectorBenchTimer);
  g.report.Line(op, "pvops", "pvops_timer_oneshot arming a deadline 10 s away", s,
                g.window.deltas());
  if (g.raw_privileged && g.lapic_ok) {
    s = Sample(kSamples, &g.window, [](uint32_t) { g.lapic.StopTimer(); });
    g.report.Line(op, "raw", "LAPIC timer initial-count write (0: never fires)", s,
                  g.window.deltas());
  } else {
    g.report.Unavailable(op, "raw", "no raw LAPIC access here");
  }
  (void)pvops::RegisterHandler(kVectorBenchTimer, nullptr);
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "timer_oneshot returned %s", pvops_status_name(bad_status));
  if (!cancel.ok()) return g.report.Fail(op, "cancelling returned %s", cancel.name());
  g.report.Pass(op);
}

struct Op {
  const char* name;
  void (*run)(const char* name);
};

constexpr Op kOps[] = {
    {"empty", BenchEmpty},
    {"irq_save_restore", BenchIrqSaveRestore},
    {"hypercall_null", BenchHypercallNull},
    {"clock_ns", BenchClockNs},
    {"flush_tlb_local", BenchFlushTlbLocal},
    {"flush_tlb_one", BenchFlushTlbOne},
    {"flush_tlb_multi", BenchFlushTlbMulti},
    {"ipi_roundtrip", BenchIpiRoundTrip},
    {"eoi", BenchEoi},
    {"pte_update_64_eager", BenchPteEager},
    {"pte_update_64_lazy", BenchPteLazy},
    {"timer_oneshot", BenchTimerOneshot},
};

// The mapping the PTE and flush ops work on: kPteBatch entries, flipped between two frames.
void MapBenchPages() {
  g.frames[0] = AllocPage();
  g.frames[1] = AllocPage();
  if (g.frames[0] == nullptr || g.frames[1] == nullptr) return;
  const uint64_t root = pvops::ReadCr3() & kPteFrameMask;
  if (!BuildPath(root, kBenchVa, &g.path).ok()) return;
  for (uint32_t f = 0; f < 2; ++f)
    for (uint32_t i = 0; i < kPteBatch; ++i) g.values[f][i] = LeafPte(VirtToPhys(g.frames[f]));
  for (uint32_t i = 0; i < kPteBatch; ++i) pvops::SetPte(g.path.slot[1] + i, g.values[0][i]);
  g.mapped = true;
}

void UnmapBenchPages() {
  if (g.mapped) {
    for (uint32_t i = 0; i < kPteBatch; ++i) pvops::SetPte(g.path.slot[1] + i, 0);
    (void)TearDownPath(&g.path, true);
  }
  for (void* frame : g.frames)
    if (frame != nullptr) FreePage(frame);
}

}  // namespace

suite::Summary RunBench(const Options& options) {
  g.raw_privileged = pvops::Info().entry != PVOPS_ENTRY_XEN_PV;
  g.lapic_ok = g.raw_privileged && g.lapic.Init();
  if (g.lapic_ok &&
      !(PostWork(kTargetCpu, ReadTargetApicId, nullptr) && WaitForWork(kTargetCpu, kNsPerSec)))
    g.lapic_ok = false;  // no target to address: the raw IPI baselines are left out
  g.remote_wait_cycles = pvops::TscKhz() * kRemoteWaitMs;
  CounterWindow::Init();
  MeasureTscStep();
  MapBenchPages();
  Print("# bench: %u samples per op, TSC cycles (virtual under TCG: compare ratios); tsc_khz=%lu "
        "tsc_step=%lu kvm_exit_counter=%s raw_lapic=%s\n",
        kSamples, pvops::TscKhz(), TscStep(), CounterWindow::KvmCounted() ? "yes" : "no",
        g.lapic_ok ? (g.lapic.x2apic() ? "x2apic" : "xapic") : "no");
  // For the reporter: converts cycles to the guest's (virtual) nanoseconds.
  Print("stat: bench_tsc_khz=%lu bench_samples=%u\n", pvops::TscKhz(), kSamples);
  for (const Op& op : kOps) {
    if (options.bench_pattern[0] != '\0' && !MatchesPattern(options.bench_pattern, op.name))
      continue;
    op.run(op.name);
  }
  UnmapBenchPages();
  return g.report.summary();
}

}  // namespace guest::bench
