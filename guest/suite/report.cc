// SPDX-License-Identifier: MIT
#include "suite/report.h"

#include <stdarg.h>

#include "kernel/format.h"

namespace guest::suite {
namespace {

// A check line: "# XPASS: " + the case's name + the prefixes + the text; cut, never overrun.
constexpr size_t kLineBytes = 384;
constexpr size_t kPrefixBytes = 128;
constexpr uint32_t kMaxPrefixDepth = 8;

// The running case's checks. Zero-initialized static storage: no constructor runs for it.
struct CaseRecord {
  const char* name;
  uint32_t passed;
  uint32_t failed;  // failed checks and unexpected passes (XPASS)
  uint32_t xfailed;
  uint32_t skipped;
  char first_failure[kReasonBytes];  // prefixes and text, "XPASS: " first for an XPASS
  char first_xfail[kReasonBytes];
  // The pushed prefixes joined, each followed by ": ". Pushes beyond kMaxPrefixDepth are
  // counted (so pops still match) but add nothing.
  char prefix[kPrefixBytes];
  size_t prefix_len;
  uint32_t depth;
  size_t len_before[kMaxPrefixDepth];
};
CaseRecord g_record;

const char* CaseName() { return g_record.name != nullptr ? g_record.name : "(no case)"; }

void CopyText(char* out, size_t size, const char* text) { Format(out, size, "%s", text); }

// `kind` is FAIL, XFAIL, XPASS or SKIP; `text` carries the prefixes already.
void PrintCheckLine(const char* kind, const char* text) {
  char line[kLineBytes];
  Format(line, sizeof(line), "# %s: %s: %s", kind, CaseName(), text);
  ReportLine(line);
}

// The prefixes, then the formatted description.
void DescribeV(char* out, size_t size, const char* format, va_list args) {
  const size_t n = Format(out, size, "%s", g_record.prefix);
  FormatV(out + n, size - n, format, args);
}

void RecordFailure(const char* kind, const char* text) {
  CaseRecord& r = g_record;
  if (r.failed++ == 0) {
    if (kind[0] == 'X')
      Format(r.first_failure, sizeof(r.first_failure), "%s: %s", kind, text);
    else
      CopyText(r.first_failure, sizeof(r.first_failure), text);
  }
  PrintCheckLine(kind, text);
}

void CheckV(bool known_gap, bool pass, const char* format, va_list args) {
  CaseRecord& r = g_record;
  if (pass && !known_gap) {
    ++r.passed;  // the common case formats nothing
    return;
  }
  char text[kLineBytes];
  DescribeV(text, sizeof(text), format, args);
  if (!known_gap) {
    RecordFailure("FAIL", text);
  } else if (pass) {
    RecordFailure("XPASS", text);
  } else {
    if (r.xfailed++ == 0) CopyText(r.first_xfail, sizeof(r.first_xfail), text);
    PrintCheckLine("XFAIL", text);
  }
}

// What the checks so far say; a pass notes its expected failures.
Result Summarize() {
  const CaseRecord& r = g_record;
  if (r.failed == 1) return Result::Fail("%s", r.first_failure);
  if (r.failed > 1)
    return Result::Fail("%u of %u checks failed, first: %s", r.failed,
                        r.passed + r.failed + r.xfailed, r.first_failure);
  return Result::Pass();
}

}  // namespace

Result Result::Fail(const char* format, ...) {
  Result r(Verdict::kFail);
  va_list args;
  va_start(args, format);
  FormatV(r.reason_, sizeof(r.reason_), format, args);
  va_end(args);
  return r;
}

Result Result::Skip(const char* format, ...) {
  Result r(Verdict::kSkip);
  va_list args;
  va_start(args, format);
  FormatV(r.reason_, sizeof(r.reason_), format, args);
  va_end(args);
  return r;
}

bool Check(bool pass, const char* format, ...) {
  va_list args;
  va_start(args, format);
  CheckV(false, pass, format, args);
  va_end(args);
  return pass;
}

bool CheckXfail(bool known_gap, bool pass, const char* format, ...) {
  va_list args;
  va_start(args, format);
  CheckV(known_gap, pass, format, args);
  va_end(args);
  return pass;
}

void SkipCheck(const char* format, ...) {
  char text[kLineBytes];
  va_list args;
  va_start(args, format);
  DescribeV(text, sizeof(text), format, args);
  va_end(args);
  ++g_record.skipped;
  PrintCheckLine("SKIP", text);
}

namespace {

void PushPrefixV(const char* format, va_list args) {
  CaseRecord& r = g_record;
  if (r.depth++ >= kMaxPrefixDepth) return;
  r.len_before[r.depth - 1] = r.prefix_len;
  // Format() always leaves the NUL inside the buffer, so prefix_len stays below its size.
  r.prefix_len += FormatV(r.prefix + r.prefix_len, sizeof(r.prefix) - r.prefix_len, format, args);
  r.prefix_len += Format(r.prefix + r.prefix_len, sizeof(r.prefix) - r.prefix_len, ": ");
}

}  // namespace

void PushPrefix(const char* format, ...) {
  va_list args;
  va_start(args, format);
  PushPrefixV(format, args);
  va_end(args);
}

void PopPrefix() {
  CaseRecord& r = g_record;
  if (r.depth == 0) return;
  if (--r.depth >= kMaxPrefixDepth) return;
  r.prefix_len = r.len_before[r.depth];
  r.prefix[r.prefix_len] = '\0';
}

ScopedPrefix::ScopedPrefix(const char* format, ...) {
  va_list args;
  va_start(args, format);
  PushPrefixV(format, args);
  va_end(args);
}

Result CheckResult() {
  Result result = Summarize();
  result.from_checks_ = true;
  return result;
}

void BeginCase(const char* name) {
  g_record = CaseRecord{};
  g_record.name = name;
}

Result EndCase(const Result& returned) {
  CaseRecord& r = g_record;
  if (r.depth != 0) {
    char text[kReasonBytes];
    Format(text, sizeof(text), "%u prefix(es) still pushed at the end of the case (\"%s\")",
           r.depth, r.prefix);
    while (r.depth != 0) PopPrefix();
    RecordFailure("FAIL", text);
  }
  if (!returned.from_checks_) {
    // A case that records no failed check keeps what it returned, reason and all.
    if (returned.verdict() != Verdict::kPass && r.failed == 0) return returned;
    if (returned.verdict() == Verdict::kFail) RecordFailure("FAIL", returned.reason());
    if (returned.verdict() == Verdict::kSkip) {
      ++r.skipped;
      PrintCheckLine("SKIP", returned.reason());
    }
  }
  Result result = Summarize();
  if (result.verdict() == Verdict::kPass && r.xfailed == 1)
    Format(result.reason_, sizeof(result.reason_), "1 expected failure: %s", r.first_xfail);
  else if (result.verdict() == Verdict::kPass && r.xfailed > 1)
    Format(result.reason_, sizeof(result.reason_), "%u expected failures, first: %s", r.xfailed,
           r.first_xfail);
  return result;
}

void PrintCaseLine(uint32_t number, const char* name, const Result& result) {
  char line[kLineBytes];
  switch (result.verdict()) {
    case Verdict::kPass:
      if (result.reason()[0] == '\0')
        Format(line, sizeof(line), "ok %u %s", number, name);
      else
        Format(line, sizeof(line), "ok %u %s # %s", number, name, result.reason());
      break;
    case Verdict::kFail:
      Format(line, sizeof(line), "not ok %u %s # %s", number, name, result.reason());
      break;
    case Verdict::kSkip:
      Format(line, sizeof(line), "ok %u %s # SKIP %s", number, name, result.reason());
      break;
  }
  ReportLine(line);
}

}  // namespace guest::suite
