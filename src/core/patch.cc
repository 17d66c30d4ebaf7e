// SPDX-License-Identifier: MIT
// Call-site patching. A site is rebuilt from its record every time, never from what it holds
// now, so a later pass (another backend, a remapped APIC) starts from the same facts as the
// first one.
#include "core/patch.h"

#include "core/reason.h"

static_assert(offsetof(pvops_patch_report, direct) == offsetof(pvops_patch_report, inlined) + 4 &&
              offsetof(pvops_patch_report, table) == offsetof(pvops_patch_report, inlined) + 8);

namespace pvops::core {
namespace {

constexpr uint8_t kCallRel32 = 0xe8;
constexpr uint32_t kCallRel32Bytes = 5;
constexpr uint8_t kCallIndirectRip[] = {0xff, 0x15};  // call *disp32(%rip)
constexpr uint32_t kCallIndirectRipBytes = 6;
constexpr uint8_t kJmpRel8 = 0xeb;
constexpr uint8_t kInt3 = 0xcc;
// The longest NOP; a longer padding is jumped over.
constexpr uint32_t kMostNopBytes = 8;

// The recommended multi-byte NOPs (Intel SDM, NOP), index = length.
constexpr uint8_t kNops[9][8] = {
    {},
    {0x90},
    {0x66, 0x90},
    {0x0f, 0x1f, 0x00},
    {0x0f, 0x1f, 0x40, 0x00},
    {0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
    {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
};

bool Rel32(uint64_t next_insn, uint64_t target, int32_t* out) {
  const int64_t delta = static_cast<int64_t>(target - next_insn);
  if (delta < INT32_MIN || delta > INT32_MAX) return false;
  *out = static_cast<int32_t>(delta);
  return true;
}

// x86 is little-endian: the field's bytes are the value's.
void PutLe32(uint8_t* at, int32_t value) { __builtin_memcpy(at, &value, sizeof(value)); }

}  // namespace
}  // namespace pvops::core

// The thunks an unpatched callee-saved site calls: they keep every register but %rax around
// the call through the table. Named in pvops.h's wrappers.
#define PVOPS_TABLE_THUNK(name, op)                                                      \
  extern "C" __attribute__((naked, used)) void name() {                                  \
    asm volatile(PVOPS_THUNK_SAVE "call *pvops_table+%c0(%%rip)\n\t" PVOPS_THUNK_RESTORE \
                                  "ret" ::"i"(offsetof(pvops_ops, op)));                 \
  }
PVOPS_TABLE_THUNK(pvops_thunk_save_flags, irq.save_flags)
PVOPS_TABLE_THUNK(pvops_thunk_restore_flags, irq.restore_flags)
PVOPS_TABLE_THUNK(pvops_thunk_irq_disable, irq.disable)
PVOPS_TABLE_THUNK(pvops_thunk_irq_enable, irq.enable)

namespace pvops::core {
namespace {

struct TableThunk {
  uint32_t slot;
  void (*thunk)();
};
const TableThunk kTableThunks[] = {
    {PVOPS_SLOT_OF(irq.save_flags), pvops_thunk_save_flags},
    {PVOPS_SLOT_OF(irq.restore_flags), pvops_thunk_restore_flags},
    {PVOPS_SLOT_OF(irq.disable), pvops_thunk_irq_disable},
    {PVOPS_SLOT_OF(irq.enable), pvops_thunk_irq_enable},
};

uintptr_t TableThunkFor(uint32_t slot) {
  for (const TableThunk& t : kTableThunks)
    if (t.slot == slot) return reinterpret_cast<uintptr_t>(t.thunk);
  return 0;
}

// The site as compiled: what it is again whenever nothing better applies.
bool EmitTableForm(const Site& site, SiteCode* out) {
  if (site.kind == PVOPS_SITE_CALLEE_SAVED) {
    const uintptr_t thunk = TableThunkFor(site.slot);
    if (thunk == 0 || !EmitDirectCall(site, thunk, out)) return false;
  } else {
    int32_t rel;
    const uint64_t slot_address =
        reinterpret_cast<uintptr_t>(&pvops_table) + site.slot * sizeof(void*);
    if (site.room < kCallIndirectRipBytes ||
        !Rel32(site.address + kCallIndirectRipBytes, slot_address, &rel))
      return false;
    out->bytes[0] = kCallIndirectRip[0];
    out->bytes[1] = kCallIndirectRip[1];
    PutLe32(out->bytes + 2, rel);
    out->length = kCallIndirectRipBytes;
  }
  out->form = SiteCode::Form::kTable;
  return true;
}

// Why a record cannot be a site; nullptr when it can.
const char* CheckRecord(const pvops_site& record) {
  if (record.slot >= kSlotCount) return "slot beyond the table";
  if (record.length > kMaxSiteBytes) return "longer than any site";
  switch (record.kind) {
    case PVOPS_SITE_CALL:
      if (record.length < kCallIndirectRipBytes) return "too short for a call";
      return nullptr;
    case PVOPS_SITE_HYPERCALL:
      if (record.slot != PVOPS_SLOT_OF(hypercall.call)) return "a hypercall site of another op";
      if (record.length < kCallIndirectRipBytes) return "too short for a call";
      return nullptr;
    case PVOPS_SITE_CALLEE_SAVED:
      if (record.length < kCallRel32Bytes) return "too short for a call";
      if (TableThunkFor(record.slot) == 0) return "no callee-saved thunk for its op";
      return nullptr;
    default: return "unknown kind";
  }
}

void Write(const pvops_env& env, uint64_t address, const uint8_t* bytes, uint32_t length) {
  auto* text = reinterpret_cast<uint8_t*>(address);
  bool same = true;
  for (uint32_t i = 0; i < length && same; ++i) same = text[i] == bytes[i];
  if (same) return;
  if (env.text_access == PVOPS_TEXT_POKE) {
    env.text_poke(text, bytes, length);
    return;
  }
  // Same-CPU stores to code are coherent on x86, and no other CPU runs the sites meanwhile
  // (pvops_patch's rule), so plain stores need no serializing instruction here.
  auto* volatile_text = reinterpret_cast<volatile uint8_t*>(text);
  for (uint32_t i = 0; i < length; ++i) volatile_text[i] = bytes[i];
}

}  // namespace

uintptr_t OpInSlot(const pvops_ops& table, uint32_t slot) {
  uintptr_t value;
  __builtin_memcpy(&value, reinterpret_cast<const unsigned char*>(&table) + slot * sizeof(void*),
                   sizeof(value));
  return value;
}

// Not inlined: three callers here would each carry a copy, in a library with a size budget.
__attribute__((noinline)) bool EmitDirectCall(const Site& site, uintptr_t target, SiteCode* out) {
  int32_t rel;
  if (site.room < kCallRel32Bytes || !Rel32(site.address + kCallRel32Bytes, target, &rel))
    return false;
  out->bytes[0] = kCallRel32;
  PutLe32(out->bytes + 1, rel);
  out->length = kCallRel32Bytes;
  out->form = SiteCode::Form::kDirect;
  return true;
}

bool EmitInline(const Site& site, const uint8_t* bytes, uint32_t length, SiteCode* out,
                const Fixup* fixups, uint32_t count) {
  if (length > site.room || length > kMaxSiteBytes) return false;
  for (uint32_t i = 0; i < length; ++i) out->bytes[i] = bytes[i];
  for (uint32_t i = 0; i < count; ++i) {
    const Fixup& f = fixups[i];
    int32_t rel = static_cast<int32_t>(site.room - f.next);
    if (f.kind == Fixup::kRel8ToSiteEnd) {
      if (rel > INT8_MAX) return false;
      out->bytes[f.field] = static_cast<uint8_t>(rel);
      continue;
    }
    const uintptr_t target =
        f.kind == Fixup::kRel32ToOp ? site.op : reinterpret_cast<uintptr_t>(f.target);
    if (!Rel32(site.address + f.next, target, &rel)) return false;
    PutLe32(out->bytes + f.field, rel);
  }
  out->length = static_cast<uint8_t>(length);
  out->form = SiteCode::Form::kInline;
  return true;
}

bool EmitCalleeSavedCall(const Site& site, const CalleeSaved* list, uint32_t count, SiteCode* out) {
  if (site.kind != PVOPS_SITE_CALLEE_SAVED) return false;
  for (uint32_t i = 0; i < count; ++i)
    if (list[i].op == site.op) return EmitDirectCall(site, list[i].thunk, out);
  return false;
}

[[nodiscard]] pvops_status PatchSites(const pvops_site* begin, const pvops_site* end,
                                      const pvops_env& env, PatchFn* native_patch,
                                      PatchFn* backend_patch, pvops_patch_report* report) {
  const uint32_t passes = report->passes;
  *report = pvops_patch_report{};
  report->passes = passes;
  report->text_access = env.text_access;
  Reason why(report->why, sizeof(report->why));
  if (begin == nullptr || end == nullptr || end < begin) {
    why.Add("the kernel gave no call sites");
    return PVOPS_ERR_UNSUPPORTED;
  }
  report->sites = static_cast<uint32_t>(end - begin);
  const bool may_write = env.text_access == PVOPS_TEXT_WRITABLE ||
                         (env.text_access == PVOPS_TEXT_POKE && env.text_poke != nullptr);
  if (!may_write) {
    report->table = report->sites;
    why.Add(env.text_access == PVOPS_TEXT_POKE ? "no text_poke callback given"
                                               : "the kernel asked not to patch");
    return PVOPS_ERR_UNSUPPORTED;
  }

  const char* kept_why = nullptr;
  for (const pvops_site* record = begin; record < end; ++record) {
    if (const char* bad = CheckRecord(*record); bad != nullptr) {
      if (report->refused++ == 0) why.Separate().Add("refused a record: ").Add(bad);
      continue;
    }
    Site site{record->slot, record->kind,
              reinterpret_cast<uintptr_t>(&record->offset) + static_cast<int64_t>(record->offset),
              record->length, OpInSlot(pvops_table, record->slot)};
    SiteCode code;  // bytes past code.length are the padding's
    bool done = false;
    if (site.op == 0) {
      kept_why = "an empty table slot";
    } else if (native_patch != nullptr && native_patch(site, &code)) {
      done = true;
    } else if (backend_patch != nullptr && backend_patch(site, &code)) {
      done = true;
    } else if (site.kind != PVOPS_SITE_CALLEE_SAVED) {
      done = EmitDirectCall(site, site.op, &code);
      if (!done) kept_why = "a function out of call reach";
    } else {
      kept_why = "a callee-saved op with no thunk of its own";
    }
    if (!done && !EmitTableForm(site, &code)) {
      if (report->refused++ == 0) why.Separate().Add("refused a record: table out of reach");
      continue;
    }
    // The rest of the site: one NOP, or a jump over int3s.
    uint8_t* pad = code.bytes + code.length;
    const uint32_t rest = site.room - code.length;
    if (rest <= kMostNopBytes) {
      __builtin_memcpy(pad, kNops[rest], rest);
    } else {
      pad[0] = kJmpRel8;
      pad[1] = static_cast<uint8_t>(rest - 2);
      __builtin_memset(pad + 2, kInt3, rest - 2);
    }
    Write(env, site.address, code.bytes, site.room);
    // inlined, direct and table follow each other in the report, in Form's order.
    (&report->inlined)[static_cast<uint32_t>(code.form)]++;
  }
  if (report->table != 0 && kept_why != nullptr)
    why.Separate().AddDec(report->table).Add(" sites keep the table, e.g. for ").Add(kept_why);
  return PVOPS_OK;
}

}  // namespace pvops::core
