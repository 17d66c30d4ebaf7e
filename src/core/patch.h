/* SPDX-License-Identifier: MIT */
// Call-site patching: what each pvops_site becomes once a backend is installed. The core owns the
// walk, the encodings and the writing; a backend only answers, per site, whether it has
// something better than a direct call of the function in the table.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::core {

// The longest site the library rewrites; longer records are refused.
inline constexpr uint32_t kMaxSiteBytes = PVOPS_HYPERCALL_SITE_BYTES;
inline constexpr uint32_t kSlotCount = sizeof(pvops_ops) / sizeof(void*);

constexpr uint32_t SlotOf(size_t offset) { return static_cast<uint32_t>(offset / sizeof(void*)); }
#define PVOPS_SLOT_OF(op) ::pvops::core::SlotOf(offsetof(pvops_ops, op))

// What `table` holds in `slot` (below kSlotCount), as an address.
uintptr_t OpInSlot(const pvops_ops& table, uint32_t slot);

// One site as a backend sees it.
struct Site {
  uint32_t slot;     // index among pvops_ops's pointers
  uint32_t kind;     // enum pvops_site_kind
  uint64_t address;  // the site's first byte
  uint32_t room;     // its length
  uintptr_t op;      // what the table holds for the slot now
};

// What a site becomes: `length` bytes of code, NOP-padded to the site's length when written.
struct SiteCode {
  enum class Form : uint8_t { kInline, kDirect, kTable };  // pvops_patch_report's order
  uint8_t bytes[kMaxSiteBytes];
  uint8_t length;
  Form form;
};

// A backend's say over one site: true when it filled `out` (which must fit site.room).
using PatchFn = bool(const Site& site, SiteCode* out);

// `call target` (E8 rel32) at `site`; false when the target is out of rel32 reach.
bool EmitDirectCall(const Site& site, uintptr_t target, SiteCode* out);
// Fixed bytes, the native instruction sequence of an op, or a backend's own instructions in
// place of a call (a hypercall's entry instruction, with a call of site.op for what the fast
// path does not take on); false when they do not fit or a fixup is out of reach. Each fixup
// names a field in `bytes` and the offset its instruction ends at.
struct Fixup {
  enum Kind : uint8_t {
    kRel32,         // to `target`
    kRel32ToOp,     // to site.op
    kRel8ToSiteEnd  // a short jump past the site
  };
  uint8_t field;
  uint8_t next;
  Kind kind;
  const void* target;
};
bool EmitInline(const Site& site, const uint8_t* bytes, uint32_t length, SiteCode* out,
                const Fixup* fixups = nullptr, uint32_t count = 0);

// An op a backend also provides as a callee-saved thunk (PVOPS_CALLEE_SAVE_THUNK), so that a
// PVOPS_SITE_CALLEE_SAVED site may call it directly.
struct CalleeSaved {
  uintptr_t op;
  uintptr_t thunk;
};
// Direct call of the thunk of site.op, when `list` has one.
bool EmitCalleeSavedCall(const Site& site, const CalleeSaved* list, uint32_t count, SiteCode* out);

// Rewrites [begin, end) for the ops in pvops_table as `env` allows, asking `native_patch` for
// sites whose op is native's and `backend_patch` (may be null) for the others. Fills `report`
// (passes is the caller's).
[[nodiscard]] pvops_status PatchSites(const pvops_site* begin, const pvops_site* end,
                                      const pvops_env& env, PatchFn* native_patch,
                                      PatchFn* backend_patch, pvops_patch_report* report);

}  // namespace pvops::core

// A thunk that keeps every register but %rax around a direct call of `target` (a function of
// no argument or one in %rdi): what a PVOPS_SITE_CALLEE_SAVED site may call.
#define PVOPS_CALLEE_SAVE_THUNK(name, target)                                              \
  extern "C" __attribute__((naked, used)) void name() {                                    \
    asm volatile(PVOPS_THUNK_SAVE "call %P0\n\t" PVOPS_THUNK_RESTORE "ret" ::"i"(target)); \
  }
#define PVOPS_THUNK_SAVE                                         \
  "pushq %%rcx\n\tpushq %%rdx\n\tpushq %%rsi\n\tpushq %%rdi\n\t" \
  "pushq %%r8\n\tpushq %%r9\n\tpushq %%r10\n\tpushq %%r11\n\t"
#define PVOPS_THUNK_RESTORE                                \
  "popq %%r11\n\tpopq %%r10\n\tpopq %%r9\n\tpopq %%r8\n\t" \
  "popq %%rdi\n\tpopq %%rsi\n\tpopq %%rdx\n\tpopq %%rcx\n\t"
