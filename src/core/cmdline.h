/* SPDX-License-Identifier: MIT */
// Reading the boot command line the kernel handed over. Bounded: the text comes from the
// hypervisor or boot loader and is not trusted to be terminated.
#pragma once

#include <stddef.h>

namespace pvops::core {

inline constexpr size_t kMaxCmdline = 4096;

// Copies the value of the last `key=value` word (key given without '=') into out (terminated,
// truncated to size-1). Returns false when the key is absent.
bool CmdlineValue(const char* cmdline, const char* key, char* out, size_t size);

}  // namespace pvops::core
