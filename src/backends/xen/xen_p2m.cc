// SPDX-License-Identifier: MIT
// Pseudo-physical against machine frames. A PV guest sees its memory as frames 0..nr_pages-1
// (pfn); its page tables hold machine frames (mfn). The p2m list from start_info maps one way,
// Xen's read-only machine-to-phys table (m2p) the other; an m2p answer counts only when the
// p2m maps it back, as in Linux. Frames past nr_pages map to themselves: in a PV dom0 those are
// machine I/O frames (Linux's identity frames). Outside PV the maps are empty: identity.
#include "backends/xen/xen.h"

namespace pvops::xen {
namespace {

constexpr uint64_t kPageOffsetMask = X86_PAGE_SIZE - 1;
// Xen sets _PAGE_USER on a 64-bit PV kernel's L1 entries (its ring-3 kernel needs it) and marks
// them with _PAGE_GUEST_KERNEL, flag bit 12 of Xen's 24-bit flag word, which is PTE bit 52
// (xen/arch/x86/include/asm/x86_64/page.h; internal to Xen, so not in the public headers).
// A read gives back the entry as the guest wrote it.
constexpr uint64_t kPteXenGuestKernel = uint64_t{1} << 52;
// What Xen writes in the p2m for a pfn with no memory behind it (Linux: INVALID_P2M_ENTRY).
constexpr xen_pfn_t kInvalidP2mEntry = ~xen_pfn_t{0};

FrameMaps g_maps;

}  // namespace

const char* InstallFrameMaps(const FrameMaps& maps) {
  g_maps = FrameMaps{};
  if (maps.p2m == nullptr || maps.nr_pages == 0) return "no p2m list";
  if (maps.m2p == nullptr || maps.m2p_entries == 0) return "no machine-to-phys table";
  // Every entry is a machine frame Xen can look up, or the ballooned marker.
  for (uint64_t pfn = 0; pfn < maps.nr_pages; ++pfn) {
    const xen_pfn_t mfn = maps.p2m[pfn];
    if (mfn != kInvalidP2mEntry && mfn >= maps.m2p_entries)
      return "a p2m entry names a machine frame above Xen's max_mfn";
  }
  // And the two tables agree where both speak: the first and last populated frames.
  const uint64_t samples[2] = {0, maps.nr_pages - 1};
  for (const uint64_t pfn : samples) {
    const xen_pfn_t mfn = maps.p2m[pfn];
    if (mfn != kInvalidP2mEntry && maps.m2p[mfn] != pfn)
      return "the p2m list and the machine-to-phys table disagree";
  }
  g_maps = maps;
  return nullptr;
}

const FrameMaps& Frames() { return g_maps; }

uint64_t PfnToMfn(uint64_t pfn) {
  if (g_maps.p2m == nullptr || pfn >= g_maps.nr_pages) return pfn;
  const xen_pfn_t mfn = g_maps.p2m[pfn];
  return mfn == kInvalidP2mEntry ? kInvalidFrame : mfn;
}

uint64_t MfnToPfn(uint64_t mfn) {
  if (g_maps.p2m == nullptr) return mfn;
  if (mfn < g_maps.m2p_entries) {
    const uint64_t pfn = g_maps.m2p[mfn];
    if (pfn < g_maps.nr_pages && g_maps.p2m[pfn] == mfn) return pfn;
  }
  // Not one of ours: an I/O frame keeps its number when it lies where no pfn of ours does.
  return mfn >= g_maps.nr_pages ? mfn : kInvalidFrame;
}

void SetP2m(uint64_t pfn, uint64_t mfn) {
  if (g_maps.p2m == nullptr || pfn >= g_maps.nr_pages) return;
  // Xen gave the list in the guest's own memory: it is the guest's to keep up to date.
  const_cast<volatile xen_pfn_t*>(g_maps.p2m)[pfn] = mfn == kInvalidFrame ? kInvalidP2mEntry : mfn;
}

pvops_pte PteToMachine(pvops_pte pte) {
  if ((pte & X86_PTE_PRESENT) == 0) return pte;
  const uint64_t mfn = PfnToMfn((pte & X86_PTE_FRAME_MASK) >> 12);
  if (mfn == kInvalidFrame) return kInvalidFrame;
  return (pte & ~X86_PTE_FRAME_MASK) | ((mfn << 12) & X86_PTE_FRAME_MASK);
}

pvops_pte PteFromMachine(pvops_pte pte) {
  if ((pte & X86_PTE_PRESENT) == 0) return pte;
  if (g_maps.p2m != nullptr && (pte & kPteXenGuestKernel) != 0)
    pte &= ~(kPteXenGuestKernel | X86_PTE_USER);
  const uint64_t pfn = MfnToPfn((pte & X86_PTE_FRAME_MASK) >> 12);
  if (pfn == kInvalidFrame) return pte;  // a frame that is not ours: shown as Xen holds it
  return (pte & ~X86_PTE_FRAME_MASK) | ((pfn << 12) & X86_PTE_FRAME_MASK);
}

uint64_t PhysToMachine(uint64_t phys) {
  const uint64_t mfn = PfnToMfn(phys >> 12);
  return mfn == kInvalidFrame ? kInvalidFrame : (mfn << 12) | (phys & kPageOffsetMask);
}

uint64_t MachineToPhys(uint64_t machine) {
  const uint64_t pfn = MfnToPfn(machine >> 12);
  return pfn == kInvalidFrame ? kInvalidFrame : (pfn << 12) | (machine & kPageOffsetMask);
}

}  // namespace pvops::xen
