// SPDX-License-Identifier: MIT
#include "core/cmdline.h"

namespace pvops::core {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool CmdlineValue(const char* cmdline, const char* key, char* out, size_t size) {
  if (cmdline == nullptr || size == 0) return false;
  bool found = false;
  size_t i = 0;
  while (i < kMaxCmdline && cmdline[i] != '\0') {
    while (i < kMaxCmdline && IsSpace(cmdline[i])) ++i;
    size_t k = 0;
    while (key[k] != '\0' && i < kMaxCmdline && cmdline[i] == key[k]) ++i, ++k;
    if (key[k] == '\0' && i < kMaxCmdline && cmdline[i] == '=') {
      ++i;
      size_t n = 0;
      while (i < kMaxCmdline && cmdline[i] != '\0' && !IsSpace(cmdline[i])) {
        if (n + 1 < size) out[n++] = cmdline[i];
        ++i;
      }
      out[n] = '\0';
      found = true;  // keep going: the last one wins, as in Linux
    }
    while (i < kMaxCmdline && cmdline[i] != '\0' && !IsSpace(cmdline[i])) ++i;
  }
  return found;
}

}  // namespace pvops::core
