// SPDX-License-Identifier: MIT
// The kernel's C++ entry: hand the library its environment, report what it detected, bring up
// the other CPUs, run the suite and leave through the table's shutdown with the protocol's code.
#include <pvops/pvops.hpp>

#include "bench/bench.h"
#include "kernel/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/cpu_tables.h"
#include "kernel/detection.h"
#include "kernel/format.h"
#include "kernel/layout.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/traps.h"
#include "suite/cases.h"
#include "suite/framework.h"
#include "suite/test_vectors.h"

// The call sites of every pvops wrapper in the image, the library's own included (pvguest.ld).
extern "C" const pvops_site __start_pvops_sites[];
extern "C" const pvops_site __stop_pvops_sites[];

namespace guest {
namespace {

Options g_options;

// How much of the direct map exists: all of it from the PVH entry's boot tables; from other
// entries only once BuildDirectMap has made it.
uint64_t g_direct_map_ready_bytes;

uint32_t ThisCpuForLibrary() { return ThisCpu(); }
uint64_t VirtToPhysForLibrary(const void* va) { return VirtToPhys(va); }
void* PhysToVirtForLibrary(uint64_t pa) {
  return pa < g_direct_map_ready_bytes ? PhysToVirt(pa) : nullptr;
}

// The direct map's tables for an entry without boot tables: 128 MiB (one L3, one L2, 64 L1s)
// is more than any environment gives the guest; frames past it stay unmapped.
constexpr uint64_t kDirectMapTablePages = 2 + 64;
alignas(PVOPS_PAGE_SIZE) uint8_t g_direct_map_tables[kDirectMapTablePages * PVOPS_PAGE_SIZE];

// All of memory the loader gave at kDirectMapBase, built through the table.
pvops::Status BuildDirectMap() {
  const uint64_t hypercalls_before = pvops_get_counter("hypercalls");
  uint64_t mapped = 0;
  const pvops::Status st = pvops_build_direct_map(kDirectMapBase, g_direct_map_tables,
                                                  sizeof(g_direct_map_tables), 0, &mapped);
  if (!st.ok()) return st;
  g_direct_map_ready_bytes = mapped * PVOPS_PAGE_SIZE;
  Print("# direct map: %lu pages built through the table with %lu hypercalls\n", mapped,
        pvops_get_counter("hypercalls") - hypercalls_before);
  return PVOPS_OK;
}

// Copies `text` into `out` for a quoted field: quotes and control bytes would break the line's
// key="value" shape, so they become '?'.
const char* Quotable(const char* text, size_t max, char* out, size_t size) {
  size_t n = 0;
  for (; n < max && n + 1 < size && text[n] != '\0'; ++n) {
    const char c = text[n];
    out[n] = (c < 0x20 || c == '"' || c == 0x7f) ? '?' : c;
  }
  out[n] = '\0';
  return out;
}

// The feature words by name (what each means is the backend's), so the detection line's
// numbers read without a decoder ring.
void PrintFeatureWords(const pvops_info& info) {
  bool any = false;
  for (uint32_t i = 0; i < 4; ++i) {
    const char* name = pvops_feature_word_name(info.backend, i);
    if (name == nullptr) continue;
    Print("%s%s=0x%x", any ? " " : "# features: ", name, info.features[i]);
    any = true;
  }
  if (any) Print("\n");
}

}  // namespace

namespace {

size_t NotesLength() {
  const pvops_info& info = pvops::Info();
  size_t n = 0;
  while (n < sizeof(info.notes) && info.notes[n] != '\0') ++n;
  return n;
}

void PrintNotes() {
  const pvops_info& info = pvops::Info();
  char notes[PVOPS_REASON_LEN + 1];
  if (info.notes[0] != '\0')
    Print("# notes: %s\n", Quotable(info.notes, sizeof(info.notes), notes, sizeof(notes)));
}

}  // namespace

void PrintDetection() {
  const pvops_info& info = pvops::Info();
  char signature[20];
  char reason[PVOPS_REASON_LEN + 1];
  Print("# detect: backend=%s signature=\"%s\" base=0x%x max_leaf=0x%x version=%u "
        "features=0x%08x,0x%08x,0x%08x,0x%08x reason=\"%s\"\n",
        pvops_backend_name(info.backend),
        Quotable(info.signature, sizeof(info.signature), signature, sizeof(signature)),
        info.base_leaf, info.max_leaf, info.version, info.features[0], info.features[1],
        info.features[2], info.features[3],
        Quotable(info.reason, sizeof(info.reason), reason, sizeof(reason)));
  PrintFeatureWords(info);
  if (info.fallback[0] != '\0')
    Print("# fallback: %s\n",
          Quotable(info.fallback, sizeof(info.fallback), reason, sizeof(reason)));
  PrintNotes();
  const pvops_patch_report& patch = info.patch;
  Print("# patch: sites=%u inlined=%u direct=%u table=%u refused=%u why=\"%s\"\n", patch.sites,
        patch.inlined, patch.direct, patch.table, patch.refused,
        Quotable(patch.why, sizeof(patch.why), reason, sizeof(reason)));
  for (uint32_t i = 0; i < info.candidate_count && i < PVOPS_MAX_CANDIDATES; ++i) {
    const pvops_candidate& c = info.candidates[i];
    Print("# candidate: backend=%s priority=0x%x base=0x%x max_leaf=0x%x signature=\"%s\"\n",
          pvops_backend_name(c.backend), c.priority, c.base_leaf, c.max_leaf,
          Quotable(c.signature, sizeof(c.signature), signature, sizeof(signature)));
  }
}

namespace {

// The library's counters as `stat:` lines, a few per line to stay within the line buffer.
void PrintCounters() {
  pvops_counter counters[PVOPS_MAX_COUNTERS];
  const uint32_t n = pvops_get_counters(counters, PVOPS_MAX_COUNTERS);
  constexpr uint32_t kPerLine = 6;
  for (uint32_t first = 0; first < n; first += kPerLine) {
    char line[kMaxLineBytes];
    size_t len = 0;
    for (uint32_t i = first; i < n && i < first + kPerLine; ++i) {
      len += Format(line + len, sizeof(line) - len, "%s%s=%lu", i == first ? "stat: " : " ",
                    counters[i].name, counters[i].value);
    }
    Print("%s\n", line);
  }
}

void PrintClockLine() { Print("clock: ns=%lu\n", pvops::ClockNs()); }

// The PVH entry's start info is the kernel's to read; the library reads the others'.
BootInfo ReadBootInfo(uint32_t entry, uint64_t boot_info) {
  if (entry == PVOPS_ENTRY_PVH) return ReadPvhStartInfo(boot_info);
  return ReadLoaderBootInfo(entry, reinterpret_cast<const void*>(boot_info));
}

void Add(suite::Summary* total, const suite::Summary& more) {
  total->passed += more.passed;
  total->failed += more.failed;
  total->skipped += more.skipped;
}

// The `move` mode: the suite, then hop after hop (move.hop waits for the mover's request) with
// the suite again on each new backend, until the mover says its plan is done.
alignas(PVOPS_PAGE_SIZE) pvops_move_mailbox g_mailbox;
constexpr uint32_t kMaxHops = 16;

suite::Summary RunMoves() {
  const pvops::Status registered = pvops_move_register(&g_mailbox, suite::kVectorMoveRequest);
  Print("# move: mailbox=0x%lx vector=0x%x register=%s\n", VirtToPhys(&g_mailbox),
        suite::kVectorMoveRequest, registered.name());
  suite::Summary total = suite::RunSuite(suite::kCases, suite::kCaseCount, g_options);
  if (!registered.ok()) {
    Print("# move: no mover; the suite ran once (move.self is the same-VM cycle)\n");
    return total;
  }
  static constexpr suite::Case kHop[] = {{"move.hop", suite::MoveHop}};
  uint32_t hop = 0;
  for (; hop < kMaxHops && pvops_move_plan_done() == 0; ++hop) {
    const suite::Summary one = suite::RunSuite(kHop, 1, Options{});
    Add(&total, one);
    if (one.failed != 0) break;  // still on the old backend, or half way: stop here
    Add(&total, suite::RunSuite(suite::kCases, suite::kCaseCount, g_options));
  }
  Print("# move: %u hops, plan %s\n", hop, pvops_move_plan_done() != 0 ? "done" : "not done");
  return total;
}

}  // namespace
}  // namespace guest

// From entry.S: the boot CPU on cpu_stacks[0], .bss zeroed, interrupts off. `boot_info` locates
// the entry's boot structure (PVH: the physical address of hvm_start_info; the library's entries:
// the pointer they received).
extern "C" [[noreturn]] void kernel_main(uint64_t boot_info, uint32_t entry) {
  using namespace guest;
  // First: the table's ops that work on this entry (its console, shutdown, descriptor tables).
  const pvops::Status early = pvops::EarlyInit(entry, reinterpret_cast<const void*>(boot_info));
  PrepareCpuStacks(0);
  RecordBootEntry(entry);
  if (entry == PVOPS_ENTRY_PVH) g_direct_map_ready_bytes = kDirectMapBytes;
  // The IDT before anything else, so that even a fault inside pvops_init gets its FAULT line
  // (the table's console is usable before init).
  BuildIdt();
  LoadCpuTables(0);
  if (!early.ok()) {
    Print("# pvops_early_init returned %s\n", early.name());
    Panic("pvops_early_init failed");
  }

  const BootInfo boot = ReadBootInfo(entry, boot_info);
  Print("# pvguest: entry=%s boot_info=0x%lx version=%u cmdline=\"%s\"\n", pvops_entry_name(entry),
        boot_info, boot.version, boot.cmdline);
  if (boot.error != nullptr) Panic(boot.error);

  ParseOptions(boot.cmdline, &g_options);
  const pvops_env env{
      .size = sizeof(pvops_env),
      .entry = entry,
      .cmdline = boot.cmdline,
      .boot_info = boot.start_info,
      .this_cpu = ThisCpuForLibrary,
      .virt_to_phys = VirtToPhysForLibrary,
      .phys_to_virt = PhysToVirtForLibrary,
      .max_cpus = PVOPS_MAX_CPUS,
      .cpu_area_size = PVOPS_CPU_AREA_SIZE,
      // The image maps its text writable (boot page tables; Xen PV's domain builder too).
      .text_access = g_options.no_patch ? PVOPS_TEXT_DO_NOT_PATCH : PVOPS_TEXT_WRITABLE,
      .sites_begin = __start_pvops_sites,
      .sites_end = __stop_pvops_sites,
  };
  const pvops::Status init = pvops_init(&env);
  PrintDetection();
  if (!init.ok()) {
    Print("# pvops_init returned %s\n", init.name());
    Panic("pvops_init failed");
  }
  // The runner stamps this line and the last one with the host's clock: a check of the clock's
  // rate that shares nothing with the guest (docs/guest-protocol.md).
  PrintClockLine();
  if (g_direct_map_ready_bytes == 0) {
    const pvops::Status st = BuildDirectMap();
    if (!st.ok()) {
      Print("# pvops_build_direct_map returned %s\n", st.name());
      Panic("building the direct map through the table failed");
    }
  }

  const size_t notes_at_boot = NotesLength();
  StartSecondaryCpus(g_options.expected_cpus);
  Print("# smp: %u of %u CPUs online\n", OnlineCpus(), ExpectedCpus());
  // What the other CPUs added: a feature their hypervisor refused them (`cpu N FEATURE: ...`).
  if (NotesLength() != notes_at_boot) PrintNotes();
  pvops::IrqEnable();

  suite::Summary summary{0, 0, 0};
  if (g_options.bench) {
    summary = bench::RunBench(g_options);
  } else if (g_options.move) {
    summary = RunMoves();
  } else {
    summary = suite::RunSuite(suite::kCases, suite::kCaseCount, g_options);
  }
  PrintCounters();
  PrintClockLine();
  Print("%u passed, %u failed, %u skipped\n", summary.passed, summary.failed, summary.skipped);
  pvops::Shutdown(summary.failed != 0 ? kExitFail : kExitPass);
}
