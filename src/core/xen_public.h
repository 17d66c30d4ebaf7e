/* SPDX-License-Identifier: MIT */
// The one way into Xen's public headers (Debian's libxen-dev). They default to the 2005
// interface unless told otherwise, which drops fields we rely on (pvclock flags), so pin the
// newest interface these headers know. The pvclock ABI (vcpu_time_info) is Xen's and KVM
// reuses it, which is why this lives in the core and not in backends/xen.
#pragma once

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
#include <xen/xen.h>
