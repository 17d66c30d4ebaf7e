/* SPDX-License-Identifier: MIT */
// The early console on COM1, and leaving the machine through QEMU's isa-debug-exit: the PC's
// fixed ports the library writes to.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace pvops::hw {

void Com1Write(const char* text, size_t len);
// isa-debug-exit with `code`, then halts for good if the machine is still there.
[[noreturn]] void DebugExitShutdown(uint32_t code);

}  // namespace pvops::hw
