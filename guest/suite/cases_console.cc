// SPDX-License-Identifier: MIT
// console.write: lines written through the table's console (the runner sees them), and the
// guest's own formatter, whose output every other line depends on, checked value by value.
#include <pvops/pvops.hpp>

#include "kernel/format.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

bool SameText(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

size_t Length(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

}  // namespace

Result ConsoleWrite() {
  static constexpr char kLine[] =
      "# console.write: the quick brown fox jumps over the lazy dog 0123456789\n";
  pvops::ConsoleWrite(kLine, sizeof(kLine) - 1);
  pvops::ConsoleWrite(kLine, 0);  // an empty write is legal and writes nothing

  // One write longer than any line buffer the backend might use.
  char long_line[300];
  size_t n = Format(long_line, sizeof(long_line), "# console.write: long line ");
  for (; n < sizeof(long_line) - 2; ++n) long_line[n] = static_cast<char>('a' + n % 26);
  long_line[n++] = '\n';
  pvops::ConsoleWrite(long_line, n);

  char out[96];
  size_t len =
      Format(out, sizeof(out), "%5d|%-5d|%05x|%s|%c|%lx|%lu|%d", 42, -7, 0xbeef, "ok", 'Z',
             uint64_t{0xffffffff80000000}, uint64_t{18446744073709551615u}, -2147483647 - 1);
  const char* expected = "   42|-7   |0beef|ok|Z|ffffffff80000000|18446744073709551615|-2147483648";
  Check(len == Length(expected) && SameText(out, expected), "formatter gave \"%s\" (%zu bytes)",
        out, len);
  char small[8];
  len = Format(small, sizeof(small), "%s", "truncated text");
  Check(len == 7 && SameText(small, "truncat"),
        "truncation gave \"%s\" (%zu bytes), expected \"truncat\" (7)", small, len);
  len = Format(out, sizeof(out), "%.3s|%016lx|%%", "abcdef", uint64_t{0x12ab});
  Check(SameText(out, "abc|00000000000012ab|%"), "precision/zero-pad gave \"%s\"", out);
  return CheckResult();
}

}  // namespace guest::suite
