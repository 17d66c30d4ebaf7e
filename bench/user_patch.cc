// SPDX-License-Identifier: MIT
#include "user_patch.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/patch.h"
#include "user_backend.h"

// The linker names the bounds of the section the patched mechanism's sites are recorded in.
extern "C" const pvops_site __start_pvops_sites[];
extern "C" const pvops_site __stop_pvops_sites[];

namespace pvops_bench {
namespace {

// The user backend's bodies as instruction bytes (user_backend.h), for the sites they fit.
// Callee-saved sites (the irq ops) may change %rax and the flags only, which these keep to.
struct StandIn {
  uint32_t slot;
  const char* name;
  uint8_t length;
  uint8_t bytes[3];
  const char* text;
};
const StandIn kStandIns[] = {
    {PVOPS_SLOT_OF(irq.save_flags), "irq.save_flags", 2, {0x9c, 0x58}, "pushf; pop %rax"},
    {PVOPS_SLOT_OF(irq.disable), "irq.disable", 1, {0x90}, "nop"},
    {PVOPS_SLOT_OF(irq.restore_flags), "irq.restore_flags", 2, {0x57, 0x9d}, "push %rdi; popf"},
    {PVOPS_SLOT_OF(mmu.flush_tlb_one),
     "mmu.flush_tlb_one",
     3,
     {0x0f, 0x18, 0x0f},
     "prefetcht0 (%rdi)"},
};
// clock_ns has no entry: its body (rdtsc, shift, or, multiply, shift) is longer than a site.

const char* SlotName(uint32_t slot) {
  for (const StandIn& s : kStandIns)
    if (s.slot == slot) return s.name;
  if (slot == PVOPS_SLOT_OF(time.clock_ns)) return "time.clock_ns";
  return "another op";
}

// The backend's PatchFn: the stand-in inline where the table holds the user backend's op and
// the bytes fit; otherwise false, and the core calls the function directly.
bool UserPatch(const pvops::core::Site& site, pvops::core::SiteCode* out) {
  const uintptr_t user_ops[] = {reinterpret_cast<uintptr_t>(&DirectSaveFlags),
                                reinterpret_cast<uintptr_t>(&DirectIrqDisable),
                                reinterpret_cast<uintptr_t>(&DirectRestoreFlags),
                                reinterpret_cast<uintptr_t>(&DirectFlushTlbOne)};
  for (size_t i = 0; i < std::size(kStandIns); ++i) {
    const StandIn& s = kStandIns[i];
    if (s.slot == site.slot && site.op == user_ops[i])
      return pvops::core::EmitInline(site, s.bytes, s.length, out);
  }
  return false;
}

const char* g_poke_error = nullptr;

// text_poke: the site's page(s) writable for the copy, then executable again.
void Poke(void* address, const void* bytes, size_t length) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t start = reinterpret_cast<uintptr_t>(address) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(address) + length + page - 1) & ~(page - 1);
  const uintptr_t self = reinterpret_cast<uintptr_t>(&Poke);
  if (self >= start && self < end) {
    g_poke_error = "a site shares a page with the code that writes it";
    return;
  }
  if (mprotect(reinterpret_cast<void*>(start), end - start, PROT_READ | PROT_WRITE) != 0) {
    g_poke_error = "mprotect(PROT_READ | PROT_WRITE) failed";
    return;
  }
  std::memcpy(address, bytes, length);
  if (mprotect(reinterpret_cast<void*>(start), end - start, PROT_READ | PROT_EXEC) != 0)
    g_poke_error = "mprotect(PROT_READ | PROT_EXEC) failed";
}

// What a rewritten site holds, read back from its bytes.
std::string Form(const pvops_site& record) {
  const auto* code = reinterpret_cast<const uint8_t*>(&record.offset) + record.offset;
  if (code[0] == 0xff && code[1] == 0x15) return "table";
  if (code[0] == 0xe8) return "direct call";
  for (const StandIn& s : kStandIns)
    if (s.slot == record.slot && std::memcmp(code, s.bytes, s.length) == 0)
      return absl::StrFormat("inline (%s)", s.text);
  return "inline";
}

}  // namespace

std::string PatchUserSites(bool* ok) {
  pvops_env env{};
  env.size = sizeof(env);
  env.text_access = PVOPS_TEXT_POKE;
  env.text_poke = Poke;
  env.sites_begin = __start_pvops_sites;
  env.sites_end = __stop_pvops_sites;
  pvops_patch_report report{};
  const pvops_status status = pvops::core::PatchSites(__start_pvops_sites, __stop_pvops_sites, env,
                                                      nullptr, UserPatch, &report);
  *ok = status == PVOPS_OK && g_poke_error == nullptr && report.refused == 0;
  if (!*ok)
    return absl::StrFormat("patching failed: status %d, %s, %u refused, %s", status,
                           g_poke_error != nullptr ? g_poke_error : "every poke done",
                           report.refused, report.why);
  std::map<std::string, std::string> forms;  // op -> what its sites became
  for (const pvops_site* s = __start_pvops_sites; s < __stop_pvops_sites; ++s) {
    std::string& form = forms[SlotName(s->slot)];
    const std::string now = Form(*s);
    form = form.empty() || form == now ? now : "mixed";
  }
  std::vector<std::string> parts;
  for (const auto& [op, form] : forms) parts.push_back(op + " " + form);
  return absl::StrFormat("%u sites (%u inline, %u direct, %u table): %s", report.sites,
                         report.inlined, report.direct, report.table, absl::StrJoin(parts, ", "));
}

}  // namespace pvops_bench
