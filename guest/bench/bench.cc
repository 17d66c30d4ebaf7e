// SPDX-License-Identifier: MIT
// The bench mode's ops, in printing order. Each op is timed three ways in the same run, with
// the same loop around them and interleaved in rounds (sampler.h): through pvops_table
// (`table`), through the pvops_* wrapper whose site pvops_init rewrote (`patched`), and as the
// bare instruction (`raw`); their ratios carry even though TCG's cycles are virtual.
#include "bench/bench.h"

#include <pvops/pvops.hpp>

#include "bench/bench_report.h"
#include "bench/raw_insns.h"
#include "bench/raw_lapic.h"
#include "bench/sampler.h"
#include "bench/site_probe.h"
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

// The target CPU halts for the whole bench, waking only for interrupts (the remote ops' IPIs),
// as an idle CPU does. Spinning in the suite's idle loop, its TCG thread made the timed CPU's
// rdtsc cost 190 cycles instead of 55 for stretches of seconds, as the host happened to
// schedule the two threads: rdtsc-bound ratios then differed by up to 2x between runs, which
// no interleaving of the variants cancels. A halted vCPU's thread sleeps.
bool g_parked;
void Park(void*) {
  while (__atomic_load_n(&g_parked, __ATOMIC_ACQUIRE)) pvops::SafeHalt();
}

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

// ---- measuring --------------------------------------------------------------------------

OpResult g_result;  // static: every round's medians and counters of up to four variants

constexpr uint32_t Slot(size_t offset) { return static_cast<uint32_t>(offset / sizeof(void*)); }
#define BENCH_SLOT(op) Slot(offsetof(pvops_ops, op))

bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

// A clock line for the runner's check of the clock against the host's, printed after a
// measurement, before its lines: the console has had time to drain (a Xen console queues an
// op's lines, kilobytes at serial speed), so it reaches the runner with the least delay.
void PrintClockLine() { Print("clock: ns=%lu\n", pvops::ClockNs()); }

// Measures the variants (interleaved in rounds) and prints their lines; the patched variant's
// line says what its sites became.
void MeasureAndReport(const char* op, const Variant* variants, uint32_t count,
                      const SiteSlot* sites, uint32_t site_count, uint32_t updates_per_op = 1) {
  Measure(variants, count, &g_result);
  PrintClockLine();
  g.report.Calibration(op, variants, g_result);
  char site[160];
  DescribeSites(sites, site_count, site, sizeof(site));
  for (uint32_t v = 0; v < g_result.variants; ++v)
    g.report.Line(op, variants[v], g_result, v,
                  SameName(variants[v].name, "patched") ? site : nullptr, updates_per_op);
}

// ---- ops ---------------------------------------------------------------------------------

void BenchEmpty(const char* op) {
  const auto nothing = [](uint32_t) { asm volatile(""); };
  const Variant variants[] = {
      MakeVariant("raw", "nothing: the batch loop alone, the floor under every op", nothing)};
  Measure(variants, 1, &g_result);
  PrintClockLine();
  g.report.Calibration(op, variants, g_result);
  g.report.Lines(op, variants, g_result);
  g.report.Pass(op);
}

void BenchIrqSaveRestore(const char* op) {
  const auto table = [](uint32_t) {
    const uint64_t flags = (pvops_table.irq.save_flags)();
    (pvops_table.irq.disable)();
    (pvops_table.irq.restore_flags)(flags);
  };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kIrqSaveRestore);
    pvops_restore_flags(pvops_irq_save());
  };
  const auto raw = [](uint32_t) { RawRestoreFlags(RawSaveFlagsCli()); };
  const Variant variants[] = {
      MakeVariant("table", "save_flags, disable, restore_flags: three calls through pvops_table",
                  table),
      MakeVariant("patched", "pvops_irq_save + pvops_restore_flags (their patched sites)", patched),
      MakeVariant("raw", "pushf; pop; cli; push; popf", raw)};
  const SiteSlot sites[] = {
      {SiteMark::kIrqSaveRestore, BENCH_SLOT(irq.save_flags), "save_flags"},
      {SiteMark::kIrqSaveRestore, BENCH_SLOT(irq.disable), "disable"},
      {SiteMark::kIrqSaveRestore, BENCH_SLOT(irq.restore_flags), "restore_flags"}};
  MeasureAndReport(op, variants, g.raw_privileged ? 3 : 2, sites, 3);
  if (!g.raw_privileged)
    g.report.Unavailable(op, "raw", "cli/popf of IF are not the guest's in Xen PV ring 3");
  g.report.Pass(op);
}

void BenchHypercallNull(const char* op) {
  const pvops::Backend backend = pvops::ChosenBackend();
  const char* name = pvops_backend_name(static_cast<uint32_t>(backend));
  const suite::NullHypercall* row = suite::NullHypercallFor(backend);
  if (row == nullptr) return g.report.Skip(op, "no null-hypercall row for backend %s", name);
  if (row->skip_reason != nullptr) return g.report.Skip(op, "%s", row->skip_reason);

  // Every variant checks the hypervisor's answer against the row's: any caller looks at what
  // came back.
  static pvops_status bad_status;
  static bool bad_raw;
  bad_status = PVOPS_OK;
  bad_raw = false;
  const auto check = [row](pvops_status st, int64_t result) {
    if (st != row->expected_status)
      bad_status = st;
    else if (st == PVOPS_OK && result != row->expected_result)
      bad_status = PVOPS_ERR_BAD_DATA;
  };
  const auto table = [row, check](uint32_t) {
    int64_t result = 0;
    check((pvops_table.hypercall.call)(row->nr, row->args[0], row->args[1], row->args[2],
                                       row->args[3], row->args[4], &result),
          result);
  };
  const auto patched = [row, check](uint32_t) {
    int64_t result = 0;
    BENCH_SITE_MARK(SiteMark::kHypercall);
    const pvops::Status st = pvops::Hypercall(row->nr, &result, row->args[0], row->args[1],
                                              row->args[2], row->args[3], row->args[4]);
    check(st.code(), result);
  };
  char table_what[160], patched_what[160];
  Format(table_what, sizeof(table_what), "%s, a call through pvops_table, answer checked",
         row->what);
  Format(patched_what, sizeof(patched_what), "%s, pvops_hypercall's patched site, answer checked",
         row->what);
  Variant variants[3] = {MakeVariant("table", table_what, table),
                         MakeVariant("patched", patched_what, patched)};
  uint32_t count = 2;
  const char* unavailable = nullptr;

  // The raw baseline: the hypervisor's own entry with no library around it.
  const bool amd = IsAmd();
  const auto raw_kvm = [row, amd](uint32_t) {
    if (RawKvmHypercall(amd, row->nr, row->args[0], row->args[1], row->args[2], row->args[3]) !=
        row->expected_result)
      bad_raw = true;
  };
  const auto raw_hyperv = [row](uint32_t) {
    if (static_cast<int64_t>(RawHypervStubCall(pvops_hv_hypercall_page, row->nr, row->args[0],
                                               row->args[1])) != row->expected_result)
      bad_raw = true;
  };
  const auto raw_xen = [row](uint32_t) {
    if (RawXenStubCall(pvops_xen_hypercall_page + row->nr * kXenStubBytes, row->args[0],
                       row->args[1], row->args[2], row->args[3],
                       row->args[4]) != row->expected_result)
      bad_raw = true;
  };
  const auto raw_vmi = [row](uint32_t) {
    if (int64_t{RawVmwareBackdoor(static_cast<uint32_t>(row->nr),
                                  static_cast<uint32_t>(row->args[0]))} != row->expected_result)
      bad_raw = true;
  };
  switch (backend) {
    case pvops::Backend::kKvm:
      variants[count++] = MakeVariant(
          "raw",
          amd ? "bare vmmcall, KVM ABI, answer checked" : "bare vmcall, KVM ABI, answer checked",
          raw_kvm);
      break;
    case pvops::Backend::kHyperV:
      if (pvops_hv_hypercall_page == nullptr) {
        unavailable = "the Hyper-V hypercall page is not linked in";
        break;
      }
      variants[count++] = MakeVariant(
          "raw", "direct call of the hypercall-page stub, fast-call registers, answer checked",
          raw_hyperv);
      break;
    case pvops::Backend::kXen:
      if (pvops_xen_hypercall_page == nullptr) {
        unavailable = "the Xen hypercall page is not linked in";
        break;
      }
      variants[count++] =
          MakeVariant("raw", "direct call of the hypercall-page stub, answer checked", raw_xen);
      break;
    case pvops::Backend::kVmi:
      variants[count++] =
          MakeVariant("raw", "bare backdoor in on port 0x5658, answer checked", raw_vmi);
      break;
    default: unavailable = "no raw hypercall for this backend";
  }
  const SiteSlot sites[] = {{SiteMark::kHypercall, BENCH_SLOT(hypercall.call), "call"}};
  MeasureAndReport(op, variants, count, sites, 1);
  if (unavailable != nullptr) g.report.Unavailable(op, "raw", unavailable);
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "%s returned %s", row->what, pvops_status_name(bad_status));
  if (bad_raw) return g.report.Fail(op, "the raw %s gave another answer", row->what);
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
  constexpr uint32_t kHvTimeRefCount = 0x40000020;
  const auto table = [](uint32_t) { (void)(pvops_table.time.clock_ns)(); };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kClockNs);
    (void)pvops_clock_ns();
  };
  const auto raw = [](uint32_t) { (void)ReadTsc(); };
  const auto exiting_msr = [](uint32_t) { (void)RawRdmsr(kHvTimeRefCount); };
  const auto exiting_pit = [](uint32_t) { (void)ReadPitCounter(); };
  Variant variants[4] = {MakeVariant("table", "clock_ns through pvops_table", table),
                         MakeVariant("patched", "pvops_clock_ns (its patched site)", patched),
                         MakeVariant("raw", "rdtsc", raw)};
  uint32_t count = 3;
  if (!g.raw_privileged) {
    // No exiting read: reported below.
  } else if (pvops::ChosenBackend() == pvops::Backend::kHyperV) {
    variants[count++] = MakeVariant("exiting", "rdmsr HV_X64_MSR_TIME_REF_COUNT", exiting_msr);
  } else {
    variants[count++] =
        MakeVariant("exiting", "PIT counter 0 by port I/O (latch, two reads)", exiting_pit);
  }
  const SiteSlot sites[] = {{SiteMark::kClockNs, BENCH_SLOT(time.clock_ns), "clock_ns"}};
  MeasureAndReport(op, variants, count, sites, 1);
  if (!g.raw_privileged)
    g.report.Unavailable(op, "exiting", "no port I/O or MSR read in Xen PV ring 3");
  g.report.Pass(op);
}

void BenchFlushTlbLocal(const char* op) {
  const auto table = [](uint32_t) { (pvops_table.mmu.flush_tlb_local)(); };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kFlushTlbLocal);
    pvops_flush_tlb_local();
  };
  const auto raw = [](uint32_t) { RawReloadCr3(); };
  const Variant variants[] = {
      MakeVariant("table", "flush_tlb_local through pvops_table", table),
      MakeVariant("patched", "pvops_flush_tlb_local (its patched site)", patched),
      MakeVariant("raw", "mov cr3 back into cr3", raw)};
  const SiteSlot sites[] = {
      {SiteMark::kFlushTlbLocal, BENCH_SLOT(mmu.flush_tlb_local), "flush_tlb_local"}};
  MeasureAndReport(op, variants, g.raw_privileged ? 3 : 2, sites, 1);
  if (!g.raw_privileged) g.report.Unavailable(op, "raw", "cr3 is Xen's in PV ring 3");
  g.report.Pass(op);
}

void BenchFlushTlbOne(const char* op) {
  const auto table = [](uint32_t) { (pvops_table.mmu.flush_tlb_one)(kBenchVa); };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kFlushTlbOne);
    pvops_flush_tlb_one(kBenchVa);
  };
  const auto raw = [](uint32_t) { RawInvlpg(kBenchVa); };
  const Variant variants[] = {
      MakeVariant("table", "flush_tlb_one through pvops_table", table),
      MakeVariant("patched", "pvops_flush_tlb_one (its patched site)", patched),
      MakeVariant("raw", "invlpg", raw)};
  const SiteSlot sites[] = {
      {SiteMark::kFlushTlbOne, BENCH_SLOT(mmu.flush_tlb_one), "flush_tlb_one"}};
  MeasureAndReport(op, variants, g.raw_privileged ? 3 : 2, sites, 1);
  if (!g.raw_privileged) g.report.Unavailable(op, "raw", "invlpg faults in Xen PV ring 3");
  g.report.Pass(op);
}

// A round trip: `send`, then wait for the target's acknowledgement. Once one has timed out the
// rest return at once (the op then fails).
bool g_timed_out;
template <typename Send>
void RoundTrip(Send&& send) {
  if (g_timed_out) return;
  const uint32_t before = Acks();
  send();
  if (!WaitAck(before)) g_timed_out = true;
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
  static pvops::CpuSet target;
  target = pvops::CpuSet::Only(kTargetCpu);
  static pvops_status bad_status;
  bad_status = PVOPS_OK;
  g_timed_out = false;
  const auto table = [](uint32_t) {
    const pvops_status st =
        (pvops_table.mmu.flush_tlb_multi)(target.raw(), kBenchVa, kBenchVa + kPageBytes);
    if (st != PVOPS_OK) bad_status = st;
  };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kFlushTlbMulti);
    const pvops::Status st = pvops::FlushTlbMulti(target, kBenchVa, kBenchVa + kPageBytes);
    if (!st.ok()) bad_status = st.code();
  };
  const auto raw = [](uint32_t) {
    RoundTrip([] { g.lapic.SendIpi(g.target_apic_id, kVectorBenchFlush); });
  };
  const Variant variants[] = {
      MakeVariant("table", "flush_tlb_multi({cpu1}, one page) through pvops_table", table),
      MakeVariant("patched",
                  "pvops_flush_tlb_multi({cpu1}, one page), returns once flushed (patched site)",
                  patched),
      MakeVariant("raw", "ICR write of a flush vector, handler invlpg + ack, wait for the ack",
                  raw)};
  const bool with_raw = g.raw_privileged && g.lapic_ok;
  if (with_raw && !pvops::RegisterHandler(kVectorBenchFlush, FlushAckHandler).ok())
    return g.report.Fail(op, "register_handler(0x%x) failed", kVectorBenchFlush);
  const SiteSlot sites[] = {
      {SiteMark::kFlushTlbMulti, BENCH_SLOT(mmu.flush_tlb_multi), "flush_tlb_multi"}};
  MeasureAndReport(op, variants, with_raw ? 3 : 2, sites, 1);
  if (with_raw) (void)pvops::RegisterHandler(kVectorBenchFlush, nullptr);
  if (!with_raw) g.report.Unavailable(op, "raw", "no raw LAPIC access here");
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "flush_tlb_multi returned %s", pvops_status_name(bad_status));
  if (g_timed_out)
    return g.report.Fail(op, "raw shootdown: cpu 1 did not answer within %lu ms", kRemoteWaitMs);
  g.report.Pass(op);
}

void BenchIpiRoundTrip(const char* op) {
  if (!TargetReady(op)) return;
  if (!pvops::RegisterHandler(kVectorBenchIpi, AckHandler).ok())
    return g.report.Fail(op, "register_handler(0x%x) failed", kVectorBenchIpi);
  static pvops::CpuSet target;
  target = pvops::CpuSet::Only(kTargetCpu);
  g_timed_out = false;
  const auto table = [](uint32_t) {
    RoundTrip([] { (void)(pvops_table.irq.send_ipi)(target.raw(), kVectorBenchIpi); });
  };
  const auto patched = [](uint32_t) {
    RoundTrip([] {
      BENCH_SITE_MARK(SiteMark::kSendIpi);
      (void)pvops::SendIpi(target, kVectorBenchIpi);
    });
  };
  const auto raw = [](uint32_t) {
    RoundTrip([] { g.lapic.SendIpi(g.target_apic_id, kVectorBenchIpi); });
  };
  const Variant variants[] = {
      MakeVariant("table", "send_ipi({cpu1}) through pvops_table, its handler acks, wait", table),
      MakeVariant("patched", "pvops_send_ipi({cpu1}) (patched site), its handler acks, wait",
                  patched),
      MakeVariant("raw", "ICR write, the same handler acks, wait for the ack", raw)};
  const bool with_raw = g.raw_privileged && g.lapic_ok;
  const SiteSlot sites[] = {{SiteMark::kSendIpi, BENCH_SLOT(irq.send_ipi), "send_ipi"}};
  MeasureAndReport(op, variants, with_raw ? 3 : 2, sites, 1);
  if (!with_raw) g.report.Unavailable(op, "raw", "no raw LAPIC access here");
  (void)pvops::RegisterHandler(kVectorBenchIpi, nullptr);
  if (g_timed_out) return g.report.Fail(op, "cpu 1 did not answer within %lu ms", kRemoteWaitMs);
  g.report.Pass(op);
}

void BenchEoi(const char* op) {
  // No interrupt is in service here, so this is the EOI every backend must still accept; KVM's
  // PV EOI flag is set only at injection, so its fast path shows in the IPI round trip instead.
  const auto table = [](uint32_t) { (pvops_table.irq.eoi)(); };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kEoi);
    pvops_eoi();
  };
  const auto raw = [](uint32_t) { g.lapic.Eoi(); };
  const Variant variants[] = {
      MakeVariant("table", "eoi through pvops_table, no interrupt in service", table),
      MakeVariant("patched", "pvops_eoi (its patched site), no interrupt in service", patched),
      MakeVariant("raw",
                  g.lapic_ok && g.lapic.x2apic() ? "wrmsr x2APIC EOI" : "xAPIC EOI register store",
                  raw)};
  const bool with_raw = g.raw_privileged && g.lapic_ok;
  const SiteSlot sites[] = {{SiteMark::kEoi, BENCH_SLOT(irq.eoi), "eoi"}};
  MeasureAndReport(op, variants, with_raw ? 3 : 2, sites, 1);
  if (!with_raw) g.report.Unavailable(op, "raw", "no raw LAPIC access here");
  g.report.Pass(op);
}

uint64_t PageVa(uint32_t i) { return kBenchVa + i * kPageBytes; }

// The raw side of both PTE ops: the same 64 entries written by plain stores.
void RawPteStores(uint32_t n) {
  volatile pvops_pte* slot = g.path.slot[1];
  for (uint32_t i = 0; i < kPteBatch; ++i) slot[i] = g.values[n & 1][i];
}

void BenchPteEager(const char* op) {
  if (!g.mapped) return g.report.Fail(op, "the bench's mapping could not be built");
  const auto table = [](uint32_t n) {
    for (uint32_t i = 0; i < kPteBatch; ++i)
      (pvops_table.mmu.update_pte)(g.path.slot[1] + i, PageVa(i), g.values[n & 1][i]);
  };
  const auto patched = [](uint32_t n) {
    for (uint32_t i = 0; i < kPteBatch; ++i) {
      BENCH_SITE_MARK(SiteMark::kUpdatePte);
      pvops_update_pte(g.path.slot[1] + i, PageVa(i), g.values[n & 1][i]);
    }
  };
  const auto raw = [](uint32_t n) { RawPteStores(n); };
  const Variant variants[] = {
      MakeVariant("table", "64 update_pte through pvops_table, each issued at once", table),
      MakeVariant("patched", "64 pvops_update_pte (patched site), each issued at once", patched),
      MakeVariant("raw", "64 direct PTE stores", raw)};
  const SiteSlot sites[] = {{SiteMark::kUpdatePte, BENCH_SLOT(mmu.update_pte), "update_pte"}};
  MeasureAndReport(op, variants, g.raw_privileged ? 3 : 2, sites, 1, kPteBatch);
  pvops_flush_tlb_local();
  if (!g.raw_privileged)
    g.report.Unavailable(op, "raw", "page tables are read-only to a Xen PV guest");
  g.report.Pass(op);
}

void BenchPteLazy(const char* op) {
  if (!g.mapped) return g.report.Fail(op, "the bench's mapping could not be built");
  const auto table = [](uint32_t n) {
    (pvops_table.mmu.lazy_begin)();
    for (uint32_t i = 0; i < kPteBatch; ++i)
      (pvops_table.mmu.update_pte)(g.path.slot[1] + i, PageVa(i), g.values[n & 1][i]);
    (pvops_table.mmu.lazy_end)();
  };
  const auto patched = [](uint32_t n) {
    BENCH_SITE_MARK(SiteMark::kLazyBegin);
    pvops_lazy_mmu_begin();
    for (uint32_t i = 0; i < kPteBatch; ++i) {
      BENCH_SITE_MARK(SiteMark::kUpdatePte);
      pvops_update_pte(g.path.slot[1] + i, PageVa(i), g.values[n & 1][i]);
    }
    BENCH_SITE_MARK(SiteMark::kLazyEnd);
    pvops_lazy_mmu_end();
  };
  const auto raw = [](uint32_t n) { RawPteStores(n); };
  const Variant variants[] = {
      MakeVariant("table", "lazy_begin, 64 update_pte, lazy_end through pvops_table", table),
      MakeVariant("patched", "the same through the wrappers' patched sites (one batch)", patched),
      MakeVariant("raw", "64 direct PTE stores", raw)};
  const SiteSlot sites[] = {{SiteMark::kLazyBegin, BENCH_SLOT(mmu.lazy_begin), "lazy_begin"},
                            {SiteMark::kUpdatePte, BENCH_SLOT(mmu.update_pte), "update_pte"},
                            {SiteMark::kLazyEnd, BENCH_SLOT(mmu.lazy_end), "lazy_end"}};
  MeasureAndReport(op, variants, g.raw_privileged ? 3 : 2, sites, 3, kPteBatch);
  pvops_flush_tlb_local();
  if (!g.raw_privileged)
    g.report.Unavailable(op, "raw", "page tables are read-only to a Xen PV guest");
  g.report.Pass(op);
}

void BenchTimerOneshot(const char* op) {
  if (!pvops::RegisterHandler(kVectorBenchTimer, IgnoreHandler).ok())
    return g.report.Fail(op, "register_handler(0x%x) failed", kVectorBenchTimer);
  static uint64_t deadline;
  static pvops_status bad_status;
  deadline = pvops::ClockNs() + kFarDeadlineNs;
  bad_status = PVOPS_OK;
  const auto table = [](uint32_t) {
    const pvops_status st = (pvops_table.irq.timer_oneshot)(deadline, kVectorBenchTimer);
    if (st != PVOPS_OK) bad_status = st;
  };
  const auto patched = [](uint32_t) {
    BENCH_SITE_MARK(SiteMark::kTimerOneshot);
    const pvops::Status st = pvops::TimerOneshot(deadline, kVectorBenchTimer);
    if (!st.ok()) bad_status = st.code();
  };
  const auto raw = [](uint32_t) { g.lapic.StopTimer(); };
  const Variant variants[] = {
      MakeVariant("table", "timer_oneshot through pvops_table, a deadline 10 s away", table),
      MakeVariant("patched", "pvops_timer_oneshot (patched site), a deadline 10 s away", patched),
      MakeVariant("raw", "LAPIC timer initial-count write (0: never fires)", raw)};
  const bool with_raw = g.raw_privileged && g.lapic_ok;
  const SiteSlot sites[] = {
      {SiteMark::kTimerOneshot, BENCH_SLOT(irq.timer_oneshot), "timer_oneshot"}};
  MeasureAndReport(op, variants, with_raw ? 3 : 2, sites, 1);
  const pvops::Status cancel = pvops::TimerOneshot(0, kVectorBenchTimer);
  if (!with_raw) g.report.Unavailable(op, "raw", "no raw LAPIC access here");
  (void)pvops::RegisterHandler(kVectorBenchTimer, nullptr);
  if (bad_status != PVOPS_OK)
    return g.report.Fail(op, "timer_oneshot returned %s", pvops_status_name(bad_status));
  if (!cancel.ok()) return g.report.Fail(op, "cancelling returned %s", cancel.name());
  g.report.Pass(op);
}

// Wakes the target from Park with an IPI and waits until it is back in its idle loop.
void Unpark() {
  __atomic_store_n(&g_parked, false, __ATOMIC_RELEASE);
  if (!pvops::RegisterHandler(kVectorBenchIpi, AckHandler).ok()) return;
  (void)pvops::SendIpi(pvops::CpuSet::Only(kTargetCpu), kVectorBenchIpi);
  (void)WaitForWork(kTargetCpu, kNsPerSec);
  (void)pvops::RegisterHandler(kVectorBenchIpi, nullptr);
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
  __atomic_store_n(&g_parked, true, __ATOMIC_RELEASE);
  const bool parked = CpuOnline(kTargetCpu) && PostWork(kTargetCpu, Park, nullptr);
  InitCounters();
  MapBenchPages();
  const uint64_t step = MeasureTscStep();
  Print("# bench: %u rounds of %u samples per variant, each sample a batch of ops spanning at "
        "least %u TSC steps of %lu cycles (virtual under TCG: compare ratios); tsc_khz=%lu "
        "kvm_exit_counter=%s raw_lapic=%s\n",
        kRounds, kSamplesPerRound, kMinStepsPerSample, step, pvops::TscKhz(),
        KvmCounted() ? "yes" : "no", g.lapic_ok ? (g.lapic.x2apic() ? "x2apic" : "xapic") : "no");
  // For the reporter: tsc_khz converts cycles to the guest's (virtual) nanoseconds.
  Print("stat: bench_tsc_khz=%lu bench_tsc_step=%lu bench_rounds=%u bench_samples_per_round=%u "
        "bench_min_steps=%u\n",
        pvops::TscKhz(), step, kRounds, kSamplesPerRound, kMinStepsPerSample);
  for (const Op& op : kOps) {
    if (options.bench_pattern[0] != '\0' && !MatchesPattern(options.bench_pattern, op.name))
      continue;
    op.run(op.name);
  }
  UnmapBenchPages();
  if (parked) Unpark();
  return g.report.summary();
}

}  // namespace guest::bench
