// SPDX-License-Identifier: MIT
// detect.*: what pvops_init chose is consistent, and a `pvops=` override is honoured or refused
// with a reason.
#include <pvops/pvops.hpp>

#include "kernel/boot_info.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

bool Contains(const char* text, const char* word) {
  for (; *text != '\0'; ++text) {
    size_t i = 0;
    while (word[i] != '\0' && text[i] == word[i]) ++i;
    if (word[i] == '\0') return true;
  }
  return false;
}

bool SameText(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

}  // namespace

Result DetectReport() {
  const pvops_info& info = pvops::Info();
  Check(info.abi_version == PVOPS_ABI_VERSION, "abi_version %u, the guest was built for %u",
        info.abi_version, PVOPS_ABI_VERSION);
  // The backend's name is in every later text.
  if (!Check(info.backend < PVOPS_BACKEND_COUNT, "backend id %u is not a known backend",
             info.backend))
    return CheckResult();
  const char* name = pvops_backend_name(info.backend);
  if (!Check(name != nullptr && name[0] != '\0', "backend %u has no name", info.backend))
    return CheckResult();
  Check(info.entry == BootEntry(), "info.entry is %u, the kernel was entered as %u", info.entry,
        BootEntry());
  Check(info.reason[0] != '\0', "backend %s chosen with an empty reason", name);
  // The candidates below are read up to the count.
  if (!Check(info.candidate_count <= PVOPS_MAX_CANDIDATES, "candidate_count %u exceeds %u",
             info.candidate_count, PVOPS_MAX_CANDIDATES))
    return CheckResult();
  for (uint32_t i = 0; i < info.candidate_count; ++i) {
    const pvops_candidate& c = info.candidates[i];
    Check(c.backend < PVOPS_BACKEND_COUNT && c.priority != 0,
          "candidate %u: backend %u priority %u (absent ones are not listed)", i, c.backend,
          c.priority);
  }
  if (info.backend == PVOPS_BACKEND_NATIVE) return CheckResult();
  for (uint32_t i = 0; i < info.candidate_count; ++i) {
    const pvops_candidate& c = info.candidates[i];
    if (c.backend != info.backend) continue;
    Check(c.base_leaf == info.base_leaf && c.max_leaf == info.max_leaf,
          "%s: info says base 0x%x max 0x%x, its candidate 0x%x 0x%x", name, info.base_leaf,
          info.max_leaf, c.base_leaf, c.max_leaf);
    return CheckResult();
  }
  Check(false, "backend %s chosen but not among the %u candidates", name, info.candidate_count);
  return CheckResult();
}

Result DetectOverride() {
  const char* wanted = SuiteOptions().backend_override;
  if (wanted[0] == '\0') return Result::Skip("no pvops= override on the command line");
  const pvops_info& info = pvops::Info();
  const char* chosen = pvops_backend_name(info.backend);
  if (SameText(chosen, wanted)) return Result::Pass();
  // Refused: the reason (or the fallback note) must name the backend asked for.
  Note("pvops=%s not taken: reason=\"%s\" fallback=\"%s\"", wanted, info.reason, info.fallback);
  if (Contains(info.reason, wanted) || Contains(info.fallback, wanted)) return Result::Pass();
  return Result::Fail("pvops=%s asked, %s chosen, and neither reason nor fallback names %s", wanted,
                      chosen, wanted);
}

}  // namespace guest::suite
