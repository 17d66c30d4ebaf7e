/* SPDX-License-Identifier: MIT */
// A tiny printf-style formatter for a kernel without libc: %s %d %i %u %x %X %p %c %%, with
// the 'l'/'ll'/'z' length modifiers, '0' and '-' flags, a field width and, for %s, a precision
// ('.N' or '.*'). Always terminates, truncates silently; returns the length written (no NUL).
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace guest {

size_t FormatV(char* out, size_t size, const char* format, va_list args);
[[gnu::format(printf, 3, 4)]] size_t Format(char* out, size_t size, const char* format, ...);

}  // namespace guest
