/* SPDX-License-Identifier: MIT */
// What the kernel does differently when Xen entered it as a PV guest (boot/xen_pv_entry.S): its
// start_info read, the image's mapping named to the library, and a direct map built through the
// pvops table once pvops_init has installed the Xen backend.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.hpp>

#include "kernel/boot_info.h"

namespace guest {

// True from the first line of kernel_main on a Xen PV entry.
bool XenPvGuest();

// First thing on the PV entry: the image's mapping as an alias of its frames. Ends the run with
// the fault code if the library refuses.
void XenPvEarlySetup();

// start_info checked (pvops_xen_pv_start_info_problem) and its command line copied.
BootInfo ReadXenPvStartInfo(const void* start_info);

// Maps every pseudo-physical frame at DIRECT_MAP_BASE + pa with 4 KiB pages through the pvops
// table (page-table frames read-only, as Xen requires), then links it into the current root.
pvops::Status XenPvBuildDirectMap();

// Sets this vCPU's virtual IOPL (PHYSDEVOP_set_iopl): at 1 or more Xen carries out the ring-3
// PV kernel's port I/O. False with Xen's answer in *xen_rc when it refused.
bool XenPvSetIopl(uint32_t iopl, int64_t* xen_rc);

// The library's phys_to_virt on a PV guest: the direct map once built, before that the image's
// own mapping of the bootstrap region, otherwise nullptr.
void* XenPvPhysToVirt(uint64_t pa);

}  // namespace guest
