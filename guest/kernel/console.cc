// SPDX-License-Identifier: MIT
#include "kernel/console.h"

#include <pvops/pvops.hpp>

#include "kernel/format.h"

namespace guest {
namespace {

uint32_t g_console_lock;

// Bounded by spins, not by the clock: the fault path prints through here, and a CPU that
// faulted while holding the lock must not wedge every other CPU's report.
constexpr uint32_t kLockSpinLimit = 50'000'000;

bool LockConsole() {
  for (uint32_t spins = 0; spins < kLockSpinLimit; ++spins) {
    if (__atomic_exchange_n(&g_console_lock, 1u, __ATOMIC_ACQUIRE) == 0) return true;
    asm volatile("pause");
  }
  return false;  // write unlocked rather than lose the line
}

void UnlockConsole(bool locked) {
  if (locked) __atomic_store_n(&g_console_lock, 0u, __ATOMIC_RELEASE);
}

}  // namespace

void PrintRaw(const char* text, size_t len) {
  const bool locked = LockConsole();
  pvops::ConsoleWrite(text, len);
  UnlockConsole(locked);
}

void Print(const char* format, ...) {
  char line[kMaxLineBytes];
  va_list args;
  va_start(args, format);
  size_t len = FormatV(line, sizeof(line), format, args);
  va_end(args);
  // A cut line keeps its newline, so the next line still starts on its own.
  size_t format_len = 0;
  while (format[format_len] != '\0') ++format_len;
  if (len == sizeof(line) - 1 && format_len > 0 && format[format_len - 1] == '\n')
    line[len - 1] = '\n';
  PrintRaw(line, len);
}

}  // namespace guest
