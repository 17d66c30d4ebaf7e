// SPDX-License-Identifier: MIT
// The domain's memory reservation: frames given back (XENMEM_decrease_reservation), filled again
// (XENMEM_populate_physmap, as Linux's balloon does: it names the frames to fill, where
// increase_reservation hands out frames of Xen's choice), and Xen's count of the domain's pages
// (XENMEM_current_reservation). HVM/PVH name guest frames. A PV guest names machine frames and
// keeps its p2m and its mappings in step; Xen updates the m2p itself when it populates.
#include "backends/xen/xen.h"

#include <xen/memory.h>

namespace pvops::xen {
namespace {

constexpr uint32_t kChunk = 64;  // frames per hypercall (the list is on the stack)
constexpr uint64_t kMaxFrames = uint64_t{1} << 40;  // 52-bit guest-physical addresses
constexpr uint64_t kMapped = X86_PTE_PRESENT | X86_PTE_WRITABLE | X86_PTE_ACCESSED | X86_PTE_DIRTY;
// Unmapping must reach every vCPU's TLB before Xen frees the frame.
constexpr uint64_t kUnmapFlags = UVMF_INVLPG | UVMF_ALL;
constexpr uint64_t kMapFlags = UVMF_INVLPG | UVMF_LOCAL;

int64_t Reservation(uint32_t op, xen_pfn_t* frames, uint32_t n) {
  xen_memory_reservation request{};
  set_xen_guest_handle(request.extent_start, frames);
  request.nr_extents = n;
  request.extent_order = 0;
  request.domid = DOMID_SELF;
  return Hypercall(__HYPERVISOR_memory_op, op, Arg(&request));
}

// How many of `n` extents Xen says it did; the status unless all. An answer above `n` is no
// answer Xen gives: taken as all done (it cannot have done more than asked), but BAD_DATA.
pvops_status Done(int64_t rc, uint32_t n, uint32_t* done) {
  *done = rc < 0 ? 0 : rc > n ? n : static_cast<uint32_t>(rc);
  if (rc < 0) return StatusFromXen(rc);
  if (rc > n) return PVOPS_ERR_BAD_DATA;
  return rc == n ? PVOPS_OK : PVOPS_ERR_HYPERVISOR;
}

// Every frame checked before anything changes: PV frames are ours and (release) backed or
// (populate) ballooned; HVM frames lie below 2^40.
bool AllValid(const uint64_t* pfns, uint32_t n, bool backed) {
  for (uint32_t i = 0; i < n; ++i) {
    if (pfns[i] >= kMaxFrames) return false;
    if (!IsPv()) continue;
    if (pfns[i] >= Frames().nr_pages || (PfnToMfn(pfns[i]) != kInvalidFrame) != backed)
      return false;
  }
  return true;
}

// Up to kChunk frames given back.
pvops_status ReleaseChunk(const uint64_t* pfns, uint32_t k) {
  xen_pfn_t frames[kChunk];
  for (uint32_t i = 0; i < k; ++i) {
    frames[i] = PfnToMfn(pfns[i]);  // identity on HVM
    if (!IsPv()) continue;
    if (const pvops_status st = RemapAliases(pfns[i], 0, kUnmapFlags); st != PVOPS_OK) {
      // Not unmapped everywhere: give back nothing of this one onwards.
      (void)RemapAliases(pfns[i], (frames[i] << 12) | kMapped, kMapFlags);
      for (uint32_t j = 0; j < i; ++j) {
        SetP2m(pfns[j], frames[j]);
        (void)RemapAliases(pfns[j], (frames[j] << 12) | kMapped, kMapFlags);
      }
      return st;
    }
    SetP2m(pfns[i], kInvalidFrame);
  }
  uint32_t done;
  const pvops_status st = Done(Reservation(XENMEM_decrease_reservation, frames, k), k, &done);
  // What Xen kept is the guest's again, mapped where it was.
  for (uint32_t i = done; i < k && IsPv(); ++i) {
    SetP2m(pfns[i], frames[i]);
    (void)RemapAliases(pfns[i], (frames[i] << 12) | kMapped, kMapFlags);
  }
  return st;
}

// Up to kChunk frames populated again.
pvops_status PopulateChunk(const uint64_t* pfns, uint32_t k) {
  xen_pfn_t frames[kChunk];
  for (uint32_t i = 0; i < k; ++i) frames[i] = pfns[i];
  uint32_t done;
  pvops_status st = Done(Reservation(XENMEM_populate_physmap, frames, k), k, &done);
  // PV: Xen wrote the machine frame of each populated pfn over its entry.
  for (uint32_t i = 0; i < done && IsPv(); ++i) {
    const uint64_t mfn = frames[i];
    if (mfn >= Frames().m2p_entries) {
      st = PVOPS_ERR_BAD_DATA;  // not a frame Xen could own: left unused
      continue;
    }
    SetP2m(pfns[i], mfn);
    if (const pvops_status map = RemapAliases(pfns[i], (mfn << 12) | kMapped, kMapFlags);
        map != PVOPS_OK && st == PVOPS_OK)
      st = map;
  }
  return st;
}

// Every frame checked first, then the request in chunks; stops at the first failing chunk.
pvops_status InChunks(const uint64_t* pfns, uint32_t n, bool backed,
                      pvops_status (*chunk)(const uint64_t*, uint32_t)) {
  if (!AllValid(pfns, n, backed)) return PVOPS_ERR_INVALID;
  for (uint32_t at = 0; at < n; at += kChunk)
    if (const pvops_status st = chunk(pfns + at, n - at < kChunk ? n - at : kChunk); st != PVOPS_OK)
      return st;
  return PVOPS_OK;
}

pvops_status Release(const uint64_t* pfns, uint32_t n) {
  return InChunks(pfns, n, true, ReleaseChunk);
}

pvops_status Populate(const uint64_t* pfns, uint32_t n) {
  return InChunks(pfns, n, false, PopulateChunk);
}

pvops_status CurrentReservation(uint64_t* pages) {
  domid_t self = DOMID_SELF;
  const int64_t rc = Hypercall(__HYPERVISOR_memory_op, XENMEM_current_reservation, Arg(&self));
  if (rc < 0) return StatusFromXen(rc);
  // A running domain holds at least the page this code runs from.
  if (rc == 0 || static_cast<uint64_t>(rc) >= kMaxFrames) return PVOPS_ERR_BAD_DATA;
  *pages = static_cast<uint64_t>(rc);
  return PVOPS_OK;
}

}  // namespace

const core::MemoryOps kMemoryOps = {Release, Populate, CurrentReservation};

}  // namespace pvops::xen
