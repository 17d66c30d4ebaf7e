/* SPDX-License-Identifier: MIT */
// Parser for the guest's serial output (docs/guest-protocol.md): one line at a time in, one
// GuestLog out. It knows nothing about processes or verdicts, so unit tests can feed it text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvops_run {

// Ordered key=value pairs as the guest printed them (values unquoted, kept as text).
using Fields = std::vector<std::pair<std::string, std::string>>;

// Returns the value of `key` in `fields`, or nullopt.
std::optional<std::string> FindField(const Fields& fields, std::string_view key);

enum class CaseResult { kPass, kFail, kSkip };

struct CaseLine {
  int number = 0;
  std::string name;
  CaseResult result = CaseResult::kPass;
  std::string reason;  // text after '#' (without "SKIP"); empty when none
};

struct ClosingCounts {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  friend bool operator==(const ClosingCounts&, const ClosingCounts&) = default;
};

// What a guest's FAULT: line said; `text` is the line after "FAULT: ".
struct FaultReport {
  std::string text;
  Fields fields;  // vector, rip, error, cr2, cpu as printed
};

// A `clock: ns=N` line: the guest's clock, and the host's CLOCK_MONOTONIC when the runner read
// the line (absent when whoever fed the parser gave no stamp).
struct ClockLine {
  std::uint64_t guest_ns = 0;
  std::optional<std::int64_t> host_ns;
};

enum class LineKind {
  kDetect,
  kCandidate,  // "# candidate: ..." (every interface detection saw, chosen or not)
  kPatch,      // "# patch: ..." (what pvops_init did to the call sites)
  kMove,       // a hop's figures: the mover's "move: hop=N ..." or the guest's "# move: hop=N ..."
  kComment,
  kCase,
  kStat,
  kBench,
  kClock,
  kFault,
  kClosing,
  kHypervisorNoise,  // "(XEN) ..." lines
  kOther,            // firmware banners, garbage, anything without a guest line's shape
};

// Everything the guest said, in order of arrival.
struct GuestLog {
  std::optional<Fields> detect;
  std::string detect_text;  // the detect line after "# detect: ", for printing
  std::vector<Fields> candidates;
  std::vector<std::string> candidate_texts;  // each line after "# candidate: ", for printing
  std::optional<Fields> patch;               // the `# patch:` line's fields
  std::vector<CaseLine> cases;
  Fields stats;  // every stat: line merged; a repeated key keeps its last value
  std::vector<Fields> bench;
  // A moved guest's hops: the mover's figures (pvops-vmm: from, to, downtime_ms, pause_ms and
  // the VMM's phases) and the guest's own (backend, clock before and after, pause_ns).
  std::vector<Fields> move_hops;
  std::vector<Fields> guest_move_hops;
  std::vector<ClockLine> clock_lines;
  std::vector<std::string> malformed_clock_lines;  // `clock:` lines without a decimal ns=
  std::optional<FaultReport> fault;
  std::optional<ClosingCounts> closing;
  int closing_lines = 0;  // more than one is a protocol error
  int cases_after_closing = 0;
  std::size_t lines = 0;

  // Counts of the case lines seen, in the closing line's terms.
  ClosingCounts CountCases() const;
};

// Removes what wraps a guest line on the wire: '\r' anywhere, leading terminal escape sequences,
// SeaBIOS's unterminated "Booting from ROM.." and a Xen "(dN) " / "(dNvM) " domain tag. Returns
// the text to classify.
std::string NormalizeLine(std::string_view raw);

class GuestLogParser {
 public:
  // Classifies one raw console line (without its '\n') and records it; returns its kind.
  // `host_monotonic_ns` is when the line was read (CLOCK_MONOTONIC); clock lines keep it.
  LineKind Feed(std::string_view raw_line,
                std::optional<std::int64_t> host_monotonic_ns = std::nullopt);

  const GuestLog& log() const { return log_; }
  GuestLog TakeLog() { return std::move(log_); }

 private:
  GuestLog log_;
};

// Parses `key=value key="quoted value" ...`; words without '=' are skipped.
Fields ParseFields(std::string_view text);

std::string_view CaseResultName(CaseResult result);  // "pass", "fail", "skip"

}  // namespace pvops_run
