// SPDX-License-Identifier: MIT
#include "kernel/cmdline.h"

#include "kernel/console.h"
#include "kernel/layout.h"

namespace guest {
namespace {

struct Word {
  const char* text;
  size_t len;
};

bool HasPrefix(Word word, const char* prefix, Word* rest) {
  size_t i = 0;
  for (; prefix[i] != '\0'; ++i)
    if (i >= word.len || word.text[i] != prefix[i]) return false;
  *rest = Word{word.text + i, word.len - i};
  return true;
}

bool Equals(Word word, const char* text) {
  Word rest;
  return HasPrefix(word, text, &rest) && rest.len == 0;
}

bool CopyValue(Word value, char* out, size_t size) {
  if (value.len == 0 || value.len >= size) return false;
  for (size_t i = 0; i < value.len; ++i) out[i] = value.text[i];
  out[value.len] = '\0';
  return true;
}

bool ParseCount(Word value, uint32_t* out) {
  if (value.len == 0 || value.len > 3) return false;
  uint32_t n = 0;
  for (size_t i = 0; i < value.len; ++i) {
    if (value.text[i] < '0' || value.text[i] > '9') return false;
    n = n * 10 + static_cast<uint32_t>(value.text[i] - '0');
  }
  *out = n;
  return true;
}

bool ParseTestPatterns(Word value, Options* out) {
  size_t start = 0;
  for (size_t i = 0; i <= value.len; ++i) {
    if (i < value.len && value.text[i] != ',') continue;
    if (out->test_pattern_count == kMaxTestPatterns) return false;
    if (!CopyValue(Word{value.text + start, i - start}, out->test_patterns[out->test_pattern_count],
                   kMaxPatternBytes))
      return false;
    ++out->test_pattern_count;
    start = i + 1;
  }
  return true;
}

bool ParseWord(Word word, Options* out) {
  Word value;
  if (HasPrefix(word, "pvops=", &value))
    return CopyValue(value, out->backend_override, sizeof(out->backend_override));
  if (HasPrefix(word, "test=", &value)) return ParseTestPatterns(value, out);
  if (HasPrefix(word, "cpus=", &value)) {
    uint32_t n;
    if (!ParseCount(value, &n) || n < 1 || n > kMaxCpus) return false;
    out->expected_cpus = n;
    return true;
  }
  if (Equals(word, "move")) {
    out->move = true;
    return true;
  }
  if (Equals(word, "hypercalls=refused")) {
    out->hypercalls_refused = true;
    return true;
  }
  if (Equals(word, "nopatch")) {
    out->no_patch = true;
    return true;
  }
  if (Equals(word, "bench")) {
    out->bench = true;
    return true;
  }
  if (HasPrefix(word, "bench=", &value)) {
    out->bench = true;
    return CopyValue(value, out->bench_pattern, sizeof(out->bench_pattern));
  }
  return false;
}

}  // namespace

void ParseOptions(const char* cmdline, Options* out) {
  *out = Options{};
  out->expected_cpus = kDefaultExpectedCpus;
  const char* p = cmdline;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t' || *p == '\n') ++p;
    const char* start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') ++p;
    const Word word{start, static_cast<size_t>(p - start)};
    if (word.len == 0) continue;
    if (!ParseWord(word, out)) Print("# ignored option %.*s\n", static_cast<int>(word.len), start);
  }
}

bool MatchesPattern(const char* pattern, const char* name) {
  // Iterative glob with one backtrack point: enough for '*' only.
  const char* star = nullptr;
  const char* resume = nullptr;
  while (*name != '\0') {
    if (*pattern == '*') {
      star = pattern++;
      resume = name;
    } else if (*pattern == *name) {
      ++pattern;
      ++name;
    } else if (star != nullptr) {
      pattern = star + 1;
      name = ++resume;
    } else {
      return false;
    }
  }
  while (*pattern == '*') ++pattern;
  return *pattern == '\0';
}

}  // namespace guest
