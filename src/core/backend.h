/* SPDX-License-Identifier: MIT */
// What a backend gives the core: a side-effect-free probe, and an init that overrides ops of the
// native table and reports what it found (the core owns the table and pvops_info).
// Detection order and priorities follow Linux's arch/x86/kernel/cpu/hypervisor.c: every probe
// returns a priority and the highest wins, so a hypervisor that also emulates another one's
// interface (KVM with Hyper-V enlightenments, Xen with Viridian) is chosen for what it really is.
#pragma once

#include <pvops/pvops.h>

#include "core/hv_leaves.h"
#include "core/patch.h"
#include "core/reason.h"
#include "core/runtime.h"

// Boot-time (or seldom called) functions that share a file with ops a kernel calls at run time
// (whole boot-time files are compiled -Os instead, src/CMakeLists.txt): built for size.
#define PVOPS_BOOT_CODE [[clang::minsize]]

namespace pvops::core {

// Priorities. A CPUID-found hypervisor ranks by its base leaf, like Linux: the real hypervisor
// sits above an emulated interface (KVM at 0x40000100 over Hyper-V at 0x40000000).
inline constexpr uint32_t kPriorityAbsent = 0;
inline constexpr uint32_t kPriorityEmulatedInterface = 1;  // Hyper-V's interface, often emulated
inline constexpr uint32_t kPriorityVmiRom = 0x40010000;    // a ROM the vendor placed on purpose
inline constexpr uint32_t kPriorityXenPvEntry =
    0xffffffff;  // entered as Xen PV: nothing else can be
inline constexpr uint32_t PriorityForBase(uint32_t base_leaf) { return base_leaf + 1; }

// What a backend's init reports; the core writes it into pvops_info. Discarded when the init
// fails, so a backend may fill it as it goes.
struct BackendReport {
  uint32_t version;               // pvops_info.version
  uint32_t features[4];           // pvops_info.features, named by Backend::feature_words
  char reason[PVOPS_REASON_LEN];  // what was found, added to pvops_info.reason
  char notes[PVOPS_REASON_LEN];   // pvops_info.notes: paths left native, and why
  // The notes so far, ready for one more.
  Reason Note() { return Reason::Continue(notes, sizeof(notes)).Separate(); }
};

// Every backend's namespace declares its Probe and Init (and UserClock where it has one) with
// these types, and a constexpr `kBackend` built from them (backends/NAME/NAME_backend.h).
//
// Looks, never touches: fills `out` (priority 0 when absent). May read CPUID and memory.
using ProbeFn = void(const pvops_env& env, const HvLeaves& leaves, pvops_candidate* out);
// Overrides ops in `ops`, which holds the native table, and fills `report`. The core has run
// the hardware layer's shared set-up just before. On failure says why in `why`; the core then
// drops `ops` and `report`.
using InitFn = pvops_status(const pvops_env& env, const pvops_candidate& found, pvops_ops* ops,
                            BackendReport* report, Reason* why);
// The page user space may read the clock from (pvops_get_user_clock).
using UserClockFn = pvops_status(pvops_user_clock* out);
// Suspend (core/move.cc): gives back what the hypervisor holds and forgets it, so that a later
// init or cpu_init starts clean. Per CPU, on that CPU with interrupts off and its one-shot timer
// cancelled; then VM-wide, on the boot CPU after every CPU's. A failure says why in `why`.
using ReleaseCpuFn = pvops_status(uint32_t cpu, Reason* why);
using ReleaseFn = pvops_status(Reason* why);

// A backend's suspend hook, where the build has suspend and resume (PVOPS_MOVE).
#if PVOPS_WITH_MOVE
#define PVOPS_MOVE_HOOK(fn) fn
#else
#define PVOPS_MOVE_HOOK(fn) nullptr
#endif

// A backend with a memory reservation (pvops_memory_*); arguments checked by the core.
struct MemoryOps {
  pvops_status (*release)(const uint64_t* pfns, uint32_t n);
  pvops_status (*populate)(const uint64_t* pfns, uint32_t n);
  pvops_status (*reservation)(uint64_t* pages);
};

struct Backend {
  uint32_t id;       // enum pvops_backend_id
  const char* name;  // as in `pvops=NAME`
  ProbeFn* probe;
  InitFn* init;
  // What each of pvops_info.features[0..3] holds for this backend; nullptr = unused.
  const char* feature_words[4];
  UserClockFn* user_clock;  // nullptr = none
  // Counters this backend keeps besides the shared ones (core/runtime.h); count 0 = none.
  CounterGroup counters;
  // Its say over call sites of its own ops (core/patch.h); nullptr = a direct call of each.
  PatchFn* patch_site = nullptr;
  // What suspend releases (core/move.cc); nullptr = nothing held.
  ReleaseCpuFn* release_cpu = nullptr;
  ReleaseFn* release = nullptr;
  const MemoryOps* memory = nullptr;  // nullptr = PVOPS_ERR_UNSUPPORTED
};

// The per-CPU rule. A feature the hypervisor registers per vCPU (an MSR or hypercall made on
// that vCPU: a clock tuple, steal time, an assist page) can be refused by one vCPU only. That
// CPU still comes up, and takes the feature's native path while the others keep theirs. A
// feature every CPU must share the same way (one clock: a TSC clock on one CPU would disagree
// with the others' by the uptime) instead reads a registration that serves every CPU (the boot
// CPU's), or, where there is none, is refused for all at init. Either way pvops_info.notes
// says "cpu N FEATURE: STATUS", through NoteCpuRefused (which notes nothing for PVOPS_OK).
extern pvops_info g_info;
void NoteCpuRefused(uint32_t cpu, const char* feature, pvops_status why);

// kBackend of backend `id` (enum pvops_backend_id); native's for an id past
// PVOPS_BACKEND_COUNT or a backend the build left out.
const Backend& BackendById(uint32_t id);

// The native backend's table: every init starts from it, and pvops_table holds the same values
// before pvops_init.
extern const pvops_ops kNativeOps;

}  // namespace pvops::core
