/* SPDX-License-Identifier: MIT */
// A case's verdict and its checks, in the manner of kvm-unit-tests' lib/report.c: a case
// records each check with Check() and carries on, so a case that breaks in three ways says all
// three; its TAP line fails if any check failed (docs/guest-protocol.md).
//
// Each failed check prints a `# FAIL: case: prefix: text` line as it happens. A passing one
// prints nothing: its text says what a failure saw ("IA32_EFER 0x%lx: LMA clear"; alone it is
// the case's reason, as before checks), so a PASS line would read backwards. CheckXfail() marks
// a check that is a known gap of the environment: its failure prints `# XFAIL: ...` and does not
// fail the case; its pass prints `# XPASS: ...` and does, so the mark goes once the gap is
// closed. SkipCheck() prints `# SKIP: ...` for a part of a case that cannot run here.
//
// A check that a later one depends on stops the case where it fails:
//   if (!Check(path != nullptr, "building tables: %s", st.name())) return CheckResult();
//
// Checks are recorded by the CPU running the case (the boot CPU), not from work posted to
// another CPU. Freestanding: no heap, no libc, state in zero-initialized statics. Everything
// here builds on the host too (tests/guest): the only way out is ReportLine().
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest::suite {

enum class Verdict : uint8_t { kPass, kFail, kSkip };

inline constexpr size_t kReasonBytes = 200;

class Result {
 public:
  static Result Pass() { return Result(Verdict::kPass); }
  [[gnu::format(printf, 1, 2)]] static Result Fail(const char* format, ...);
  // A skip names the missing feature bit or capability.
  [[gnu::format(printf, 1, 2)]] static Result Skip(const char* format, ...);

  Verdict verdict() const { return verdict_; }
  // A failure's or a skip's reason; for a pass, empty or what it notes (expected failures).
  const char* reason() const { return reason_; }

 private:
  friend Result CheckResult();
  friend Result EndCase(const Result& returned);

  explicit Result(Verdict verdict) : verdict_(verdict), from_checks_(false), reason_{} {}
  Verdict verdict_;
  bool from_checks_;  // made by CheckResult(): its failures are recorded already
  char reason_[kReasonBytes];
};

// Records one check of the running case: `pass`, and `format` saying what a failure saw.
// Formatted only when it failed. Returns `pass`, so a dependent step can stop on it.
[[gnu::format(printf, 2, 3)]] bool Check(bool pass, const char* format, ...);

// A check that is a known gap where `known_gap` holds (an environment's documented defect):
// there a failure is expected (XFAIL, the case still passes) and a pass is reported as
// unexpected (XPASS, the case fails). Where `known_gap` is false it is Check(). Returns `pass`.
[[gnu::format(printf, 3, 4)]] bool CheckXfail(bool known_gap, bool pass, const char* format, ...);

// A part of the case that cannot run here, with the reason (the case's verdict is unchanged).
[[gnu::format(printf, 1, 2)]] void SkipCheck(const char* format, ...);

// The prefix stack: every check line and failure text recorded while a prefix is pushed
// starts with it ("cpu 1: page 3: ..."). Pops must match pushes; ScopedPrefix does both.
[[gnu::format(printf, 1, 2)]] void PushPrefix(const char* format, ...);
void PopPrefix();

class ScopedPrefix {
 public:
  [[gnu::format(printf, 2, 3)]] explicit ScopedPrefix(const char* format, ...);
  ~ScopedPrefix() { PopPrefix(); }
  ScopedPrefix(const ScopedPrefix&) = delete;
  ScopedPrefix& operator=(const ScopedPrefix&) = delete;
};

// The verdict of the checks recorded so far: Pass, or Fail with the count and the first
// failure. What a case that records checks returns.
Result CheckResult();

// ---- for the suite's runner (framework.cc) and host tests ----------------------------------

// Starts recording for case `name` (kept by pointer).
void BeginCase(const char* name);

// The case's verdict from what it returned and the checks it recorded. A failed check fails
// the case whatever it returned: "N of M checks failed, first: TEXT" (one failure alone: its
// TEXT). A Result::Fail returned besides failed checks counts as one more (and gets its own
// `# FAIL:` line); a skip returned after failed checks becomes that failure. A pass with
// expected failures notes them: "N expected failure(s), first: TEXT".
Result EndCase(const Result& returned);

// Prints the case's TAP line: `ok N name`, `ok N name # NOTE`, `not ok N name # REASON`,
// `ok N name # SKIP REASON`.
void PrintCaseLine(uint32_t number, const char* name, const Result& result);

// Where every line above goes, without its '\n': the kernel's console (framework.cc), or a
// host test's buffer.
void ReportLine(const char* text);

}  // namespace guest::suite
