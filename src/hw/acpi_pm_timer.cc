// SPDX-License-Identifier: MIT
#include "hw/acpi_pm_timer.h"

#include <pvops/pvh.h>
#include <stddef.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/elfnote.h>
#include "arch/x86/registers.h"
#include "core/runtime.h"
#include "core/xen_public.h"

namespace pvops::hw {
namespace {

// <pvops/pvh.h> gives kernels Xen's PVH values without Xen's headers: they must stay equal.
static_assert(PVOPS_PVH_START_MAGIC == XEN_HVM_START_MAGIC_VALUE);
static_assert(PVOPS_PVH_NOTE_TYPE == XEN_ELFNOTE_PHYS32_ENTRY);
static_assert(sizeof(pvops_pvh_start_info) == sizeof(hvm_start_info));
static_assert(offsetof(pvops_pvh_start_info, cmdline_paddr) ==
              offsetof(hvm_start_info, cmdline_paddr));
static_assert(offsetof(pvops_pvh_start_info, rsdp_paddr) == offsetof(hvm_start_info, rsdp_paddr));
static_assert(offsetof(pvops_pvh_start_info, memmap_entries) ==
              offsetof(hvm_start_info, memmap_entries));

// ACPI 6.5, 5.2.5 (RSDP), 5.2.6 (table header), 5.2.9 (FADT): byte offsets.
constexpr uint32_t kRsdpV1Length = 20;
constexpr uint32_t kRsdpV2MinLength = 36;
constexpr uint32_t kRsdpRevisionOffset = 15;
constexpr uint32_t kRsdpRsdtOffset = 16;
constexpr uint32_t kRsdpLengthOffset = 20;
constexpr uint32_t kRsdpXsdtOffset = 24;
constexpr uint32_t kHeaderLength = 36;
constexpr uint32_t kHeaderLengthOffset = 4;
constexpr uint32_t kFadtPmTimerBlockOffset = 76;
constexpr uint32_t kFadtPmTimerLengthOffset = 91;
constexpr uint32_t kFadtFlagsOffset = 112;
constexpr uint32_t kFadtXPmTimerBlockOffset = 208;  // a Generic Address Structure
constexpr uint32_t kGasLength = 12;
constexpr uint32_t kGasAddress = kFadtXPmTimerBlockOffset + 4;  // the GAS's 64-bit address
constexpr uint32_t kFadtFlagTimerValExt = 1u << 8;
constexpr uint32_t kFadtFlagHardwareReduced = 1u << 20;
constexpr uint8_t kGasSystemIo = 1;
// No real table is near this; a bigger "length" is garbage, not a reason to read on.
constexpr uint32_t kMaxTableLength = 1u << 20;
constexpr uint32_t kMaxRootEntries = 64;

// Where a BIOS keeps the RSDP (ACPI 5.2.5.1): the first KiB of the EBDA, whose segment the BDA
// holds at 0x40e, and the read-only BIOS area.
constexpr uint64_t kBdaEbdaSegment = 0x40e;
constexpr uint64_t kBiosAreaStart = 0xe0000;
constexpr uint64_t kBiosAreaEnd = 0x100000;
constexpr uint64_t kEbdaScanLength = 1024;
constexpr uint64_t kRsdpAlignment = 16;

// Physical memory through the kernel's phys_to_virt, a page at a time: the kernel's map need
// not be contiguous.
bool ReadPhys(uint64_t pa, void* dst, uint32_t len) {
  auto* out = static_cast<uint8_t*>(dst);
  while (len > 0) {
    const auto* src = static_cast<const volatile uint8_t*>(core::PhysToVirt(pa));
    if (src == nullptr) return false;
    const uint64_t in_page = X86_PAGE_SIZE - pa % X86_PAGE_SIZE;
    const uint32_t n = in_page < len ? static_cast<uint32_t>(in_page) : len;
    for (uint32_t i = 0; i < n; ++i) out[i] = src[i];
    out += n;
    pa += n;
    len -= n;
  }
  return true;
}

template <typename T>
bool ReadPhysValue(uint64_t pa, T* out) {
  return ReadPhys(pa, out, sizeof(T));
}

uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint64_t Le64(const uint8_t* p) { return Le32(p) | uint64_t{Le32(p + 4)} << 32; }

bool SumsToZero(uint64_t pa, uint32_t len) {
  uint8_t sum = 0;
  uint8_t chunk[64];
  for (uint32_t done = 0; done < len;) {
    const uint32_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
    if (!ReadPhys(pa + done, chunk, n)) return false;
    for (uint32_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + chunk[i]);
    done += n;
  }
  return sum == 0;
}

bool SignatureAt(uint64_t pa, const char* sig, uint32_t len) {
  uint8_t bytes[8];
  if (len > sizeof(bytes) || !ReadPhys(pa, bytes, len)) return false;
  for (uint32_t i = 0; i < len; ++i)
    if (bytes[i] != static_cast<uint8_t>(sig[i])) return false;
  return true;
}

bool IsRsdp(uint64_t pa) { return SignatureAt(pa, "RSD PTR ", 8) && SumsToZero(pa, kRsdpV1Length); }

uint64_t ScanForRsdp(uint64_t start, uint64_t end) {
  for (uint64_t pa = start; pa + kRsdpV1Length <= end; pa += kRsdpAlignment)
    if (IsRsdp(pa)) return pa;
  return 0;
}

uint64_t FindRsdp() {
  const pvops_env& env = core::Env();
  if (env.entry == PVOPS_ENTRY_PVH && env.boot_info != nullptr) {
    const auto* start = static_cast<const hvm_start_info*>(env.boot_info);
    if (start->magic == XEN_HVM_START_MAGIC_VALUE && start->rsdp_paddr != 0)
      return IsRsdp(start->rsdp_paddr) ? start->rsdp_paddr : 0;
  }
  if (env.entry == PVOPS_ENTRY_XEN_PV) return 0;  // no firmware tables in a PV guest's memory
  uint16_t ebda_segment = 0;
  if (ReadPhysValue(kBdaEbdaSegment, &ebda_segment) && ebda_segment != 0) {
    const uint64_t ebda = uint64_t{ebda_segment} << 4;
    if (const uint64_t rsdp = ScanForRsdp(ebda, ebda + kEbdaScanLength); rsdp != 0) return rsdp;
  }
  return ScanForRsdp(kBiosAreaStart, kBiosAreaEnd);
}

// The length of a valid table with `sig` at `pa`, or 0.
uint32_t CheckedTable(uint64_t pa, const char* sig) {
  uint32_t length = 0;
  if (pa == 0 || !SignatureAt(pa, sig, 4) || !ReadPhysValue(pa + kHeaderLengthOffset, &length))
    return 0;
  if (length < kHeaderLength || length > kMaxTableLength || !SumsToZero(pa, length)) return 0;
  return length;
}

// The FADT's address from the XSDT (ACPI 2.0+) or the RSDT; 0 when neither lists one.
uint64_t FindFadt(uint64_t rsdp, bool* bad_table) {
  uint8_t r[kRsdpV2MinLength] = {};
  if (!ReadPhys(rsdp, r, kRsdpV1Length)) return 0;
  uint64_t root = r[kRsdpRevisionOffset] >= 2 ? 0 : Le32(r + kRsdpRsdtOffset);
  uint32_t entry_size = 4;
  const char* root_sig = "RSDT";
  if (r[kRsdpRevisionOffset] >= 2) {
    if (!ReadPhys(rsdp, r, kRsdpV2MinLength)) return 0;
    const uint32_t length = Le32(r + kRsdpLengthOffset);
    if (length >= kRsdpV2MinLength && length <= X86_PAGE_SIZE && SumsToZero(rsdp, length) &&
        Le64(r + kRsdpXsdtOffset) != 0) {
      root = Le64(r + kRsdpXsdtOffset);
      entry_size = 8;
      root_sig = "XSDT";
    } else {
      root = Le32(r + kRsdpRsdtOffset);
    }
  }
  const uint32_t root_length = CheckedTable(root, root_sig);
  if (root_length == 0) {
    *bad_table = root != 0;
    return 0;
  }
  uint32_t entries = (root_length - kHeaderLength) / entry_size;
  if (entries > kMaxRootEntries) entries = kMaxRootEntries;
  for (uint32_t i = 0; i < entries; ++i) {
    uint8_t e[8] = {};
    if (!ReadPhys(root + kHeaderLength + uint64_t{i} * entry_size, e, entry_size)) return 0;
    const uint64_t table = entry_size == 8 ? Le64(e) : Le32(e);
    if (SignatureAt(table, "FACP", 4)) {
      if (CheckedTable(table, "FACP") != 0) return table;
      *bad_table = true;
      return 0;
    }
  }
  return 0;
}

}  // namespace

[[nodiscard]] pvops_status FindPmTimer(PmTimerPort* out) {
  if (out == nullptr) return PVOPS_ERR_INVALID;
  const uint64_t rsdp = FindRsdp();
  if (rsdp == 0) return PVOPS_ERR_UNSUPPORTED;
  bool bad_table = false;
  const uint64_t fadt = FindFadt(rsdp, &bad_table);
  if (fadt == 0) return bad_table ? PVOPS_ERR_BAD_DATA : PVOPS_ERR_UNSUPPORTED;
  uint32_t length = 0;
  (void)ReadPhysValue(fadt + kHeaderLengthOffset, &length);
  uint8_t f[kFadtXPmTimerBlockOffset + kGasLength] = {};
  const uint32_t have = length < sizeof(f) ? length : sizeof(f);
  if (!ReadPhys(fadt, f, have)) return PVOPS_ERR_BAD_DATA;
  const uint32_t flags = have >= kFadtFlagsOffset + 4 ? Le32(f + kFadtFlagsOffset) : 0;
  if ((flags & kFadtFlagHardwareReduced) != 0) return PVOPS_ERR_UNSUPPORTED;
  uint64_t port = 0;
  // The 64-bit block wins where present (ACPI 5.2.9: X_PM_TMR_BLK supersedes PM_TMR_BLK).
  const uint64_t x_block_address =
      have >= kFadtXPmTimerBlockOffset + kGasLength ? Le64(f + kGasAddress) : 0;
  if (x_block_address != 0) {
    if (f[kFadtXPmTimerBlockOffset] != kGasSystemIo) return PVOPS_ERR_UNSUPPORTED;
    port = x_block_address;
  } else if (have >= kFadtPmTimerLengthOffset + 1 && f[kFadtPmTimerLengthOffset] == 4) {
    port = Le32(f + kFadtPmTimerBlockOffset);
  }
  if (port == 0) return PVOPS_ERR_UNSUPPORTED;
  if (port > 0xfffc) return PVOPS_ERR_BAD_DATA;
  out->port = static_cast<uint16_t>(port);
  out->mask = (flags & kFadtFlagTimerValExt) != 0 ? 0xffffffffu : 0x00ffffffu;
  return PVOPS_OK;
}

}  // namespace pvops::hw
