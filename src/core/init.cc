// SPDX-License-Identifier: MIT
// Boot: detect -> select -> init -> install. Data flows one way: probes only look, the plan is
// pure, and the chosen backend's init fills a staged copy of the native table, and a report,
// that replace the live table and the info only when it succeeded.
#include <pvops/pvops.h>
#include <pvops/xen.h>

#include "core/backend.h"
#include "core/built_in_backends.h"
#include "core/cmdline.h"
#include "core/cpu_area.h"
#include "core/hv_leaves.h"
#include "core/move.h"
#include "core/paravirt_ops.h"
#include "core/patch.h"
#include "core/reason.h"
#include "core/runtime.h"
#include "core/select.h"
#include "hw/shared_state.h"

namespace pvops::core {

pvops_info g_info;

// Out of line: every backend's cpu_init hands each feature's status here.
PVOPS_BOOT_CODE void NoteCpuRefused(uint32_t cpu, const char* feature, pvops_status why) {
  if (why == PVOPS_OK) return;
  Reason::Continue(g_info.notes, sizeof(g_info.notes))
      .Separate()
      .Add("cpu ")
      .AddDec(cpu)
      .Add(feature)
      .Add(pvops_status_name(why));
}

namespace {

// Indexed by enum pvops_backend_id; nullptr for a backend the build left out (CMake
// PVOPS_BACKENDS): it is neither probed nor tried, and `pvops=` naming it says so.
constexpr const Backend* kBackends[] = {
    &native::kBackend,
#ifdef PVOPS_WITH_KVM
    &kvm::kBackend,
#else
    nullptr,
#endif
#ifdef PVOPS_WITH_XEN
    &xen::kBackend,
#else
    nullptr,
#endif
#ifdef PVOPS_WITH_HYPERV
    &hyperv::kBackend,
#else
    nullptr,
#endif
#ifdef PVOPS_WITH_VMI
    &vmi::kBackend,
#else
    nullptr,
#endif
};
static_assert(sizeof(kBackends) / sizeof(kBackends[0]) == PVOPS_BACKEND_COUNT);
constexpr bool EachBackendAtItsId() {
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id)
    if (kBackends[id] != nullptr && kBackends[id]->id != id) return false;
  return true;
}
constexpr uint32_t BuiltInMask() {
  uint32_t mask = 0;
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id)
    if (kBackends[id] != nullptr) mask |= 1u << id;
  return mask;
}
static_assert(EachBackendAtItsId(), "kBackends[i] must describe backend id i");

// PVOPS_MAX_CPUS as the library was built, as the absolute symbol pvops_build_max_cpus: a
// kernel's build reads it from the archive (nm) to compile against pvops.h with the same value.
static_assert(PVOPS_MAX_CPUS_VALUE == PVOPS_MAX_CPUS, "the build passes one value twice");
#define PVOPS_STRINGIFY(x) #x
#define PVOPS_EXPAND_STRINGIFY(x) PVOPS_STRINGIFY(x)
asm(".globl pvops_build_max_cpus\n.set pvops_build_max_cpus, " PVOPS_EXPAND_STRINGIFY(
    PVOPS_MAX_CPUS_VALUE));
// The release likewise, as pvops_build_version (PVOPS_VERSION: major << 16 | minor << 8 | patch),
// for a build that checks the archive against the headers it found before linking.
asm(".globl pvops_build_version\n.set pvops_build_version, " PVOPS_EXPAND_STRINGIFY(PVOPS_VERSION));

// The smallest env this library can use: everything up to and including cpu_area_size.
constexpr uint32_t kMinEnvSize = offsetof(pvops_env, cpu_area_size) + sizeof(uint32_t);

void RecordCandidates(const pvops_candidate (&found)[PVOPS_BACKEND_COUNT], pvops_info* info) {
  info->candidate_count = 0;
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id) {
    if (found[id].priority == 0 || info->candidate_count == PVOPS_MAX_CANDIDATES) continue;
    info->candidates[info->candidate_count++] = found[id];
  }
}

// One attempt: the hardware layer's shared set-up, the backend's init, then (where checked) its
// table's slots. The set-up runs again for each attempt so that none inherits what a refused
// one left cached.
[[nodiscard]] pvops_status TryBackend(const Backend& backend, const pvops_candidate& found,
                                      pvops_ops* ops, BackendReport* report, Reason* why) {
  // Native goes on without it: its LAPIC ops report what is missing when called.
  if (const pvops_status st = hw::SetUpSharedState();
      st != PVOPS_OK && backend.id != PVOPS_BACKEND_NATIVE) {
    why->Add("native set-up failed: ").Add(pvops_status_name(st));
    return st;
  }
  const pvops_status st = backend.init(Env(), found, ops, report, why);
#ifdef PVOPS_CHECK_EMPTY_SLOTS
  // A slot the backend emptied would be a call through null: refuse the table instead.
  if (TableSlot empty; st == PVOPS_OK && FindEmptySlot(*ops, &empty)) {
    why->Add("empty table slot ")
        .Add(empty.group)
        .Add("[")
        .AddDec(empty.index)
        .Add("] at offset ")
        .AddHex(empty.offset);
    return PVOPS_ERR_INVALID;
  }
#endif
  return st;
}

// The chosen backend's part of the info; the rest (reason, fallback, candidates) is the core's.
void RecordChoice(uint32_t id, const pvops_candidate& found, const BackendReport& report,
                  pvops_info* info) {
  info->backend = id;
  info->base_leaf = found.base_leaf;
  info->max_leaf = found.max_leaf;
  CopyString(info->signature, sizeof(info->signature), found.signature);
  info->version = report.version;
  for (uint32_t i = 0; i < 4; ++i) info->features[i] = report.features[i];
  CopyString(info->notes, sizeof(info->notes), report.notes);
}

// The ops `entry` works with before any backend, into `ops`. Ring 0 entries: the native ones
// already there. Xen PV's ring 3: the hypervisor's console, shutdown and interrupt flag.
[[nodiscard]] PVOPS_BOOT_CODE pvops_status InstallEntryOps(uint32_t entry, const void* boot_info,
                                                           pvops_ops* ops) {
  if (entry == PVOPS_ENTRY_NATIVE || entry == PVOPS_ENTRY_PVH) return PVOPS_OK;
  if (entry != PVOPS_ENTRY_XEN_PV) return PVOPS_ERR_INVALID;
#ifdef PVOPS_WITH_XEN
  return xen::EarlyInitPv(boot_info, ops);
#else
  (void)boot_info;
  (void)ops;
  return PVOPS_ERR_UNSUPPORTED;
#endif
}

}  // namespace

// One pass over the env's call sites for the table as it stands.
[[nodiscard]] pvops_status PatchEnvSites(pvops_info* info) {
  const pvops_env& env = Env();
  ++info->patch.passes;
  return PatchSites(env.sites_begin, env.sites_end, env, native::PatchSite,
                    BackendById(info->backend).patch_site, &info->patch);
}

const Backend& BackendById(uint32_t id) {
  const Backend* backend = id < PVOPS_BACKEND_COUNT ? kBackends[id] : nullptr;
  return backend != nullptr ? *backend : native::kBackend;
}

// Detect -> select -> init, into the live table and `info` (whose reason, fallback, notes and
// candidates it rewrites): pvops_init's, and pvops_resume's on the hypervisor it woke up on.
void ChooseBackend(pvops_info* info) {
  const HvLeaves leaves = ScanHvLeaves();
  pvops_candidate found[PVOPS_BACKEND_COUNT] = {};
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id) {
    found[id].backend = id;
    if (kBackends[id] == nullptr) continue;
    kBackends[id]->probe(Env(), leaves, &found[id]);
    found[id].backend = id;  // a probe cannot claim another backend's slot
  }
  RecordCandidates(found, info);

  char override_name[16];
  const bool has_override =
      CmdlineValue(Env().cmdline, "pvops", override_name, sizeof(override_name));
  Reason why(info->reason, sizeof(info->reason));
  const SelectionPlan plan =
      PlanSelection(found, has_override ? override_name : nullptr, &why, BuiltInMask());

  Reason fallback(info->fallback, sizeof(info->fallback));
  for (uint32_t i = 0; i < plan.count; ++i) {
    const Backend& backend = *kBackends[plan.order[i]];
    // From native every time: a second pvops_init must not inherit the first one's ops.
    pvops_ops staged = kNativeOps;
    // Native on an entry native ops cannot serve (Xen PV's ring 3) keeps that entry's own.
    if (backend.id == PVOPS_BACKEND_NATIVE)
      (void)InstallEntryOps(Env().entry, Env().boot_info, &staged);
    BackendReport report{};
    char failure[PVOPS_REASON_LEN];
    Reason init_why(failure, sizeof(failure));
    const pvops_status st = TryBackend(backend, found[backend.id], &staged, &report, &init_why);
    if (st != PVOPS_OK) {
      fallback.Separate()
          .Add(backend.name)
          .Add(" init failed (")
          .Add(pvops_status_name(st))
          .Add("): ")
          .Add(init_why.c_str());
      continue;
    }
    pvops_table = staged;
    if (i > 0) why.Add("; fell back to ").Add(backend.name);
    RecordChoice(backend.id, found[backend.id], report, info);
    if (report.reason[0] != '\0') why.Separate().Add(report.reason);
    break;
  }
  info->paravirt = ParavirtOps(pvops_table);
}

}  // namespace pvops::core

extern "C" pvops_status pvops_init(const pvops_env* env) {
  using namespace pvops::core;
  if (env == nullptr || env->size < kMinEnvSize) return PVOPS_ERR_INVALID;
  pvops_env copy{};
  // A smaller (older) env leaves the newer fields zero; a larger one is cut to what we know.
  const uint32_t n = env->size < sizeof(copy) ? env->size : sizeof(copy);
  const auto* src = reinterpret_cast<const unsigned char*>(env);
  auto* dst = reinterpret_cast<unsigned char*>(&copy);
  for (uint32_t i = 0; i < n; ++i) dst[i] = src[i];
  copy.size = sizeof(copy);

  g_info = pvops_info{};
  g_info.abi_version = PVOPS_ABI_VERSION;
  g_info.entry = copy.entry;
  // A kernel built with another PVOPS_MAX_CPUS passes cpusets of another size; another
  // release's header may lay out what it passes differently (patch releases keep the layout;
  // an env that states no version, 0, predates the field). One reason names both: one call
  // chain costs less code than two.
  if (copy.max_cpus != PVOPS_MAX_CPUS ||
      (copy.version != 0 && (copy.version ^ PVOPS_VERSION) >> 8 != 0)) {
    Reason(g_info.reason, sizeof(g_info.reason))
        .Add("env.max_cpus ")
        .AddDec(copy.max_cpus)
        .Add(", version ")
        .AddHex(copy.version)
        .Add(", but the library was built with PVOPS_MAX_CPUS " PVOPS_EXPAND_STRINGIFY(
            PVOPS_MAX_CPUS_VALUE) " as release " PVOPS_VERSION_STRING);
    return PVOPS_ERR_INVALID;
  }
  if (copy.cpu_area_size < sizeof(CpuArea)) {
    Reason(g_info.reason, sizeof(g_info.reason))
        .Add("env.cpu_area_size ")
        .AddDec(copy.cpu_area_size)
        .Add(", but the library's per-CPU area takes ")
        .AddDec(sizeof(CpuArea));
    return PVOPS_ERR_INVALID;
  }
  InstallEnv(copy);
  ResetCpuAreas();
  ForgetMoves();

  ChooseBackend(&g_info);
  // Before any other CPU runs: the sites change under no one.
  (void)PatchEnvSites(&g_info);
  if (const pvops_status st = pvops_cpu_online(0); st != PVOPS_OK)
    Reason::Continue(g_info.notes, sizeof(g_info.notes))
        .Separate()
        .Add("boot CPU set-up: ")
        .Add(pvops_status_name(st));
  return PVOPS_OK;
}

extern "C" pvops_status pvops_early_init(uint32_t entry, const void* boot_info) {
  return pvops::core::InstallEntryOps(entry, boot_info, &pvops_table);
}

extern "C" PVOPS_BOOT_CODE const char* pvops_boot_cmdline(uint32_t entry, const void* boot_info,
                                                          const char** cmdline) {
  if (cmdline == nullptr) return "no place for the command line";
  *cmdline = "";
  if (entry != PVOPS_ENTRY_XEN_PV) return "the library reads no boot structure at this entry";
#ifdef PVOPS_WITH_XEN
  if (const char* problem = pvops_xen_pv_start_info_problem(boot_info); problem != nullptr)
    return problem;
  *cmdline = pvops_xen_pv_cmdline(boot_info);
  return nullptr;
#else
  (void)boot_info;
  return "this library has no Xen backend";
#endif
}

extern "C" pvops_status pvops_patch(void) {
  return pvops::core::PatchEnvSites(&pvops::core::g_info);
}

extern "C" const pvops_info* pvops_get_info(void) { return &pvops::core::g_info; }

extern "C" pvops_status pvops_get_user_clock(pvops_user_clock* out) {
  using namespace pvops::core;
  if (out == nullptr) return PVOPS_ERR_INVALID;
  *out = pvops_user_clock{};
  // The page shows the hypervisor's time; clock_ns() adds what a resume carried over.
  if (ClockOffsetCarried()) return PVOPS_ERR_UNSUPPORTED;
  // Before pvops_init() the info names no backend: native, which has no such page.
  const Backend& backend = BackendById(g_info.backend);
  if (backend.user_clock == nullptr) return PVOPS_ERR_UNSUPPORTED;
  const pvops_status st = backend.user_clock(out);
  if (st != PVOPS_OK) *out = pvops_user_clock{};
  return st;
}

extern "C" const char* pvops_feature_word_name(uint32_t backend, uint32_t index) {
  if (backend >= PVOPS_BACKEND_COUNT || index >= 4) return nullptr;
  return pvops::core::BackendById(backend).feature_words[index];
}

extern "C" pvops_status pvops_cpu_online(uint32_t cpu) {
  if (cpu >= PVOPS_MAX_CPUS) return PVOPS_ERR_INVALID;
  pvops::core::PerCpu* record = pvops::core::CpuRecord(cpu);
  if (record == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  record->online = 1;
  return pvops_table.platform.cpu_init(cpu);
}
