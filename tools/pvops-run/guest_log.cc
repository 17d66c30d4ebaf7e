// SPDX-License-Identifier: MIT
#include "guest_log.h"

#include <cctype>

#include <charconv>

namespace pvops_run {
namespace {

constexpr char kEscape = '\x1b';

// Debian's Abseil has its own string_view type, so the parser keeps to std::string_view.
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool ConsumePrefix(std::string_view* text, std::string_view prefix) {
  if (!text->starts_with(prefix)) return false;
  text->remove_prefix(prefix.size());
  return true;
}

std::string_view StripLeadingSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  return text;
}

std::string_view StripTrailingSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view StripSpace(std::string_view text) {
  return StripTrailingSpace(StripLeadingSpace(text));
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// Drops one leading terminal escape sequence (CSI "ESC [ ... final" or a two-byte "ESC x").
bool ConsumeEscapeSequence(std::string_view& text) {
  if (text.empty() || text[0] != kEscape) return false;
  if (text.size() >= 2 && text[1] == '[') {
    std::size_t end = 2;
    while (end < text.size() && !(text[end] >= 0x40 && text[end] <= 0x7e)) ++end;
    text.remove_prefix(end < text.size() ? end + 1 : text.size());
  } else {
    text.remove_prefix(text.size() >= 2 ? 2 : 1);
  }
  return true;
}

bool ConsumeDigits(std::string_view& text, std::string_view* digits) {
  std::size_t end = 0;
  while (end < text.size() && IsDigit(text[end])) ++end;
  if (end == 0) return false;
  *digits = text.substr(0, end);
  text.remove_prefix(end);
  return true;
}

// Leading decimal digits as a number of type T; false when there are none or they overflow T.
template <typename T>
bool ConsumeNumber(std::string_view& text, T* value) {
  std::string_view digits;
  if (!ConsumeDigits(text, &digits)) return false;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), *value);
  return error == std::errc() && end == digits.data() + digits.size();
}

bool ConsumeInt(std::string_view& text, int* value) { return ConsumeNumber(text, value); }

// Xen tags a domain's console output as "(d0) " or "(d0v1) ".
bool ConsumeXenDomainTag(std::string_view& text) {
  std::string_view rest = text;
  std::string_view digits;
  if (!ConsumePrefix(&rest, "(d") || !ConsumeDigits(rest, &digits)) return false;
  if (ConsumePrefix(&rest, "v") && !ConsumeDigits(rest, &digits)) return false;
  if (!ConsumePrefix(&rest, ") ")) return false;
  text = rest;
  return true;
}

// "N passed, N failed, N skipped", exactly.
std::optional<ClosingCounts> ParseClosingLine(std::string_view text) {
  ClosingCounts counts;
  if (ConsumeInt(text, &counts.passed) && ConsumePrefix(&text, " passed, ") &&
      ConsumeInt(text, &counts.failed) && ConsumePrefix(&text, " failed, ") &&
      ConsumeInt(text, &counts.skipped) && text == " skipped") {
    return counts;
  }
  return std::nullopt;
}

// TAP: "ok N name", "not ok N name # reason", "ok N name # SKIP reason".
std::optional<CaseLine> ParseCaseLine(std::string_view text) {
  CaseLine line;
  if (ConsumePrefix(&text, "not ok ")) {
    line.result = CaseResult::kFail;
  } else if (ConsumePrefix(&text, "ok ")) {
    line.result = CaseResult::kPass;
  } else {
    return std::nullopt;
  }
  if (!ConsumeInt(text, &line.number)) return std::nullopt;
  if (!text.empty() && text[0] != ' ') return std::nullopt;

  std::string_view name = text;
  std::string_view directive;
  if (std::size_t hash = text.find(" #"); hash != std::string_view::npos) {
    name = text.substr(0, hash);
    directive = StripSpace(text.substr(hash + 2));
  }
  line.name = std::string(StripSpace(name));
  if (line.name.empty()) return std::nullopt;

  // A SKIP directive only turns an "ok" into a skip; "not ok ... # SKIP" stays a failure.
  std::string_view skip_reason = directive;
  bool is_skip =
      StartsWithIgnoreCase(directive, "skip") && (directive.size() == 4 || directive[4] == ' ');
  if (is_skip) skip_reason = StripLeadingSpace(directive.substr(4));
  if (is_skip && line.result == CaseResult::kPass) {
    line.result = CaseResult::kSkip;
    line.reason = std::string(skip_reason);
  } else {
    line.reason = std::string(directive);
  }
  return line;
}

void MergeFields(Fields& into, Fields from) {
  for (auto& [key, value] : from) {
    bool replaced = false;
    for (auto& existing : into) {
      if (existing.first == key) {
        existing.second = std::move(value);
        replaced = true;
        break;
      }
    }
    if (!replaced) into.emplace_back(std::move(key), std::move(value));
  }
}

// The whole text as an unsigned decimal, or nullopt (empty, a sign, anything else, overflow).
std::optional<std::uint64_t> ParseDecimal(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::string_view rest = *text;
  std::uint64_t value = 0;
  if (!ConsumeNumber(rest, &value) || !rest.empty()) return std::nullopt;
  return value;
}

FaultReport ParseFault(std::string_view text) {
  FaultReport fault{std::string(text), ParseFields(text)};
  // The mnemonic is printed as a bare "(#PF)" word next to vector=.
  if (std::size_t open = text.find("(#"); open != std::string_view::npos) {
    std::size_t close = text.find(')', open);
    if (close != std::string_view::npos) {
      fault.fields.emplace_back("mnemonic", std::string(text.substr(open + 1, close - open - 1)));
    }
  }
  return fault;
}

}  // namespace

std::optional<std::string> FindField(const Fields& fields, std::string_view key) {
  for (const auto& [name, value] : fields) {
    if (name == key) return value;
  }
  return std::nullopt;
}

Fields ParseFields(std::string_view text) {
  Fields fields;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && text[at] == ' ') ++at;
    std::size_t key_start = at;
    while (at < text.size() && text[at] != ' ' && text[at] != '=') ++at;
    std::string key(text.substr(key_start, at - key_start));
    if (at >= text.size() || text[at] != '=') continue;  // a bare word
    ++at;
    std::string value;
    if (at < text.size() && text[at] == '"') {
      ++at;
      while (at < text.size() && text[at] != '"') {
        if (text[at] == '\\' && at + 1 < text.size()) ++at;
        value.push_back(text[at++]);
      }
      if (at < text.size()) ++at;  // closing quote
    } else {
      while (at < text.size() && text[at] != ' ') value.push_back(text[at++]);
    }
    if (!key.empty()) fields.emplace_back(std::move(key), std::move(value));
  }
  return fields;
}

std::string NormalizeLine(std::string_view raw) {
  std::string without_cr;
  without_cr.reserve(raw.size());
  for (char c : raw) {
    if (c != '\r') without_cr.push_back(c);
  }
  std::string_view text = without_cr;
  while (!text.empty()) {
    if (ConsumeEscapeSequence(text)) continue;
    if (static_cast<unsigned char>(text[0]) < 0x20) {
      text.remove_prefix(1);
      continue;
    }
    break;
  }
  // SeaBIOS ends its banner with "Booting from ROM.." and no newline, so the guest's first line
  // arrives glued to it.
  ConsumePrefix(&text, "Booting from ROM..");
  ConsumeXenDomainTag(text);
  return std::string(StripTrailingSpace(text));
}

ClosingCounts GuestLog::CountCases() const {
  ClosingCounts counts;
  for (const CaseLine& line : cases) {
    switch (line.result) {
      case CaseResult::kPass: ++counts.passed; break;
      case CaseResult::kFail: ++counts.failed; break;
      case CaseResult::kSkip: ++counts.skipped; break;
    }
  }
  return counts;
}

LineKind GuestLogParser::Feed(std::string_view raw_line,
                              std::optional<std::int64_t> host_monotonic_ns) {
  ++log_.lines;
  std::string line = NormalizeLine(raw_line);
  std::string_view text = line;

  if (text.starts_with("(XEN)")) return LineKind::kHypervisorNoise;
  if (ConsumePrefix(&text, "# detect:")) {
    text = StripLeadingSpace(text);
    log_.detect = ParseFields(text);
    log_.detect_text = std::string(text);
    return LineKind::kDetect;
  }
  if (ConsumePrefix(&text, "# candidate:")) {
    text = StripLeadingSpace(text);
    log_.candidates.push_back(ParseFields(text));
    log_.candidate_texts.emplace_back(text);
    return LineKind::kCandidate;
  }
  if (ConsumePrefix(&text, "# patch:")) {
    log_.patch = ParseFields(StripLeadingSpace(text));
    return LineKind::kPatch;
  }
  // Other `# move:` lines (requests, "plan done") are comments; only hop lines carry figures.
  if (std::string_view rest = text; ConsumePrefix(&rest, "# move:")) {
    Fields fields = ParseFields(rest);
    if (!FindField(fields, "hop")) return LineKind::kComment;
    log_.guest_move_hops.push_back(std::move(fields));
    return LineKind::kMove;
  }
  if (text.starts_with("#")) return LineKind::kComment;
  if (std::optional<CaseLine> case_line = ParseCaseLine(text)) {
    if (log_.closing) ++log_.cases_after_closing;
    log_.cases.push_back(std::move(*case_line));
    return LineKind::kCase;
  }
  if (ConsumePrefix(&text, "stat:")) {
    MergeFields(log_.stats, ParseFields(text));
    return LineKind::kStat;
  }
  if (std::string_view rest = text; ConsumePrefix(&rest, "move:")) {
    Fields fields = ParseFields(rest);
    if (FindField(fields, "hop")) {
      log_.move_hops.push_back(std::move(fields));
      return LineKind::kMove;
    }
  }
  if (ConsumePrefix(&text, "bench:")) {
    log_.bench.push_back(ParseFields(text));
    return LineKind::kBench;
  }
  if (ConsumePrefix(&text, "clock:")) {
    const std::optional<std::uint64_t> guest_ns = ParseDecimal(FindField(ParseFields(text), "ns"));
    if (guest_ns) {
      log_.clock_lines.push_back(ClockLine{*guest_ns, host_monotonic_ns});
    } else {
      log_.malformed_clock_lines.emplace_back(StripSpace(text));
    }
    return LineKind::kClock;
  }
  if (ConsumePrefix(&text, "FAULT:")) {
    // The first fault is the cause; later ones are its echoes.
    if (!log_.fault) log_.fault = ParseFault(StripLeadingSpace(text));
    return LineKind::kFault;
  }
  if (std::optional<ClosingCounts> counts = ParseClosingLine(text)) {
    if (!log_.closing) log_.closing = *counts;
    ++log_.closing_lines;
    return LineKind::kClosing;
  }
  return LineKind::kOther;
}

std::string_view CaseResultName(CaseResult result) {
  switch (result) {
    case CaseResult::kPass: return "pass";
    case CaseResult::kFail: return "fail";
    case CaseResult::kSkip: return "skip";
  }
  return "?";
}

}  // namespace pvops_run
