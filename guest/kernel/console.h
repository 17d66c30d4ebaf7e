/* SPDX-License-Identifier: MIT */
// Console output: formatted lines through pvops::ConsoleWrite, one line at a time so lines
// from two CPUs never interleave mid-line. Valid from the first instruction of kernel_main:
// the pvops table is native (and working) before pvops_init.
#pragma once

#include <stddef.h>

namespace guest {

inline constexpr size_t kMaxLineBytes = 512;

// Formats (see format.h) and writes the result whole. Longer output is cut at kMaxLineBytes
// and still ends with the newline the format asked for.
[[gnu::format(printf, 1, 2)]] void Print(const char* format, ...);

// Writes `text` as is, under the same line lock.
void PrintRaw(const char* text, size_t len);

}  // namespace guest
