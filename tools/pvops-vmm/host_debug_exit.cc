// SPDX-License-Identifier: MIT
#include "host_debug_exit.h"

#include <sys/io.h>

#include "port_io_devices.h"
#include "vmm_error.h"

namespace pvops::vmm {

void WriteHostDebugExit(uint32_t code, uint8_t size) {
  if (ioperm(kDebugExitPort, 4, 1) < 0) ThrowErrno("ioperm for the L1's port 0xf4");
  switch (size) {
    case 4: outl(code, kDebugExitPort); break;
    case 2: outw(static_cast<uint16_t>(code), kDebugExitPort); break;
    default: outb(static_cast<uint8_t>(code), kDebugExitPort); break;
  }
}

}  // namespace pvops::vmm
