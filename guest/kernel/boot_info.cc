// SPDX-License-Identifier: MIT
#include "kernel/boot_info.h"

#include <pvops/pvh.h>
#include <pvops/pvops.h>

#include "kernel/layout.h"

namespace guest {
namespace {

char g_cmdline[kMaxCmdlineBytes + 1];
uint32_t g_boot_entry;

}  // namespace

BootInfo ReadPvhStartInfo(uint64_t start_info_phys) {
  BootInfo info{nullptr, 0, g_cmdline, nullptr};
  g_cmdline[0] = '\0';
  if (start_info_phys + sizeof(pvops_pvh_start_info) > kDirectMapBytes) {
    info.error = "hvm_start_info lies outside the direct map";
    return info;
  }
  const auto* start = static_cast<const pvops_pvh_start_info*>(PhysToVirt(start_info_phys));
  info.start_info = start;
  if (start->magic != PVOPS_PVH_START_MAGIC) {
    info.error = "hvm_start_info magic is not 0x336ec578";
    return info;
  }
  info.version = start->version;
  const uint64_t cmdline_phys = start->cmdline_paddr;
  if (cmdline_phys == 0) return info;  // no command line: every default applies
  if (cmdline_phys >= kDirectMapBytes) {
    info.error = "command line address lies outside the direct map";
    return info;
  }
  const auto* text = static_cast<const char*>(PhysToVirt(cmdline_phys));
  size_t len = 0;
  // Never read past the direct map's end, nor further than the longest line we accept.
  while (len <= kMaxCmdlineBytes && cmdline_phys + len < kDirectMapBytes && text[len] != '\0')
    ++len;
  if (len > kMaxCmdlineBytes || cmdline_phys + len >= kDirectMapBytes) {
    info.error = "command line is not terminated within 4095 bytes";
    return info;
  }
  for (size_t i = 0; i < len; ++i) g_cmdline[i] = text[i];
  g_cmdline[len] = '\0';
  return info;
}

BootInfo ReadLoaderBootInfo(uint32_t entry, const void* boot_info) {
  BootInfo info{boot_info, 0, g_cmdline, nullptr};
  g_cmdline[0] = '\0';
  const char* text = "";
  if (const char* problem = pvops_boot_cmdline(entry, boot_info, &text); problem != nullptr) {
    info.error = problem;
    return info;
  }
  size_t len = 0;
  while (text[len] != '\0' && len < kMaxCmdlineBytes) g_cmdline[len] = text[len], ++len;
  g_cmdline[len] = '\0';
  return info;
}

void RecordBootEntry(uint32_t entry) { g_boot_entry = entry; }
uint32_t BootEntry() { return g_boot_entry; }

}  // namespace guest
