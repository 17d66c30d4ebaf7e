/* SPDX-License-Identifier: MIT */
// The guest's bench mode (`bench` / `bench=PATTERN` on its command line): every op through the
// pvops table next to its raw baseline, as `bench:` lines (docs/guest-protocol.md), one TAP line
// per op (ok when measured, SKIP when the environment lacks the path).
#pragma once

#include "kernel/cmdline.h"
#include "suite/framework.h"

namespace guest::bench {

suite::Summary RunBench(const Options& options);

}  // namespace guest::bench
