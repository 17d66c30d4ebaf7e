/* SPDX-License-Identifier: MIT */
// The L1's own isa-debug-exit: repeating the guest's exit code there ends the outer QEMU with
// the status the guest chose, as if the guest had run there directly.
#pragma once

#include <cstdint>

namespace pvops::vmm {

// Writes code (with the guest's access width) to the L1's port 0xf4. Returns only if the write
// did not end the machine; throws VmmError if the port cannot be opened (ioperm).
void WriteHostDebugExit(uint32_t code, uint8_t size);

}  // namespace pvops::vmm
