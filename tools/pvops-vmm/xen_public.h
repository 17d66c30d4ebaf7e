/* SPDX-License-Identifier: MIT */
// The one way into Xen's public headers (libxen-dev) here. Unless told otherwise they describe
// the 2005 interface (the compat numbers of event_channel_op and sched_op): pin the newest they
// know, as the guest's library does (src/core/xen_public.h). Include this before any other Xen
// header.
#pragma once

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
// clang-format off
#include <cstdint>  // xen.h uses the fixed-width types without including them
#include <xen/xen.h>
// clang-format on
