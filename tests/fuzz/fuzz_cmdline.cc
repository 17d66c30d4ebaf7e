// SPDX-License-Identifier: MIT
// The `pvops=` command-line parser (core/cmdline.cc) on any bytes: the kernel's command line is
// whatever the boot loader (or the hypervisor's start info) handed over.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string>

#include "core/cmdline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: the size of the output buffer (0 included); the rest: the command line.
  const size_t out_size = data[0] % 40;
  const std::string line(reinterpret_cast<const char*>(data + 1), size - 1);
  char canary[64];
  memset(canary, 0x5a, sizeof(canary));
  char* out = canary + 8;
  for (const char* key : {"pvops", "pvops_nopatch", "", "="}) {
    const bool found = pvops::core::CmdlineValue(line.c_str(), key, out, out_size);
    // A found value always fits, terminated, in what the caller gave.
    if (found && out_size > 0 && strnlen(out, out_size) == out_size) __builtin_trap();
    for (size_t i = 0; i < 8; ++i)
      if (canary[i] != 0x5a) __builtin_trap();
    for (size_t i = 8 + out_size; i < sizeof(canary); ++i)
      if (canary[i] != 0x5a) __builtin_trap();
  }
  return 0;
}
