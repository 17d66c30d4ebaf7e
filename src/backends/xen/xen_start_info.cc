// SPDX-License-Identifier: MIT
// The Xen PV start_info, checked before anything trusts it. Xen's public xen.h documents the
// start-of-day layout these checks hold it to: the p2m list (mfn_list) lies before start_info,
// start_info before the bootstrap page tables (pt_base), all inside one mapped region.
#include "backends/xen/xen.h"

namespace pvops::xen {
namespace {

// "xen-<version>-<platform>": this library speaks the 3.0 ABI of 64-bit x86 guests.
constexpr char kMagicPrefix[] = "xen-3.0-x86_64";
// More would be a guest above 4 TiB: not a start_info anyone gave a 64-bit PV guest.
constexpr uint64_t kMaxPages = uint64_t{1} << 30;
// Xen maps the bootstrap page tables for at most the region it built: a few dozen frames.
constexpr uint64_t kMaxPtFrames = 512;

bool HasPrefix(const char* text, size_t size, const char* prefix) {
  size_t i = 0;
  for (; prefix[i] != '\0'; ++i)
    if (i >= size || text[i] != prefix[i]) return false;
  return true;
}

}  // namespace

const char* StartInfoProblem(const start_info* si) {
  if (si == nullptr) return "no start_info (rsi was 0 at the PV entry)";
  const uint64_t si_va = reinterpret_cast<uintptr_t>(si);
  if (si_va % 8 != 0) return "start_info is not 8-byte aligned";
  if (!HasPrefix(si->magic, sizeof(si->magic), kMagicPrefix))
    return "start_info magic is not xen-3.0-x86_64";
  bool magic_ends = false;
  for (char c : si->magic) magic_ends = magic_ends || c == '\0';
  if (!magic_ends) return "start_info magic is not NUL-terminated";
  if (si->nr_pages == 0) return "start_info nr_pages is 0";
  if (si->nr_pages > kMaxPages) return "start_info nr_pages is above 2^30 (4 TiB)";
  if (si->shared_info == 0 || si->shared_info % X86_PAGE_SIZE != 0)
    return "start_info shared_info is not a page-aligned machine address";

  const uint64_t p2m = si->mfn_list;
  const uint64_t p2m_bytes = si->nr_pages * sizeof(xen_pfn_t);
  if (p2m == 0 || p2m % sizeof(xen_pfn_t) != 0) return "start_info mfn_list is 0 or misaligned";
  if (p2m + p2m_bytes < p2m) return "start_info mfn_list + nr_pages wraps around";
  // The p2m precedes start_info in the bootstrap region; past it lie the page tables and the
  // stack, and anything else is outside what Xen mapped for it.
  if (p2m + p2m_bytes > (si_va & ~(X86_PAGE_SIZE - 1)))
    return "start_info mfn_list does not end before start_info (outside the bootstrap region)";

  if (si->nr_pt_frames == 0 || si->nr_pt_frames > kMaxPtFrames)
    return "start_info nr_pt_frames is 0 or above 512";
  if (si->pt_base % X86_PAGE_SIZE != 0) return "start_info pt_base is not page-aligned";
  if (si->pt_base < si_va + sizeof(start_info))
    return "start_info pt_base does not lie after start_info";
  if (si->pt_base + si->nr_pt_frames * X86_PAGE_SIZE < si->pt_base)
    return "start_info pt_base + nr_pt_frames wraps around";
  return nullptr;
}

const char* StartInfoCmdline(const start_info* si) {
  if (si == nullptr) return "";
  const char* text = reinterpret_cast<const char*>(si->cmd_line);
  for (size_t i = 0; i < MAX_GUEST_CMDLINE; ++i)
    if (text[i] == '\0') return text;
  return "";
}

}  // namespace pvops::xen

extern "C" const char* pvops_xen_pv_start_info_problem(const void* start_info) {
  return pvops::xen::StartInfoProblem(static_cast<const ::start_info*>(start_info));
}

extern "C" const char* pvops_xen_pv_cmdline(const void* start_info) {
  return pvops::xen::StartInfoCmdline(static_cast<const ::start_info*>(start_info));
}
