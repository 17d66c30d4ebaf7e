// SPDX-License-Identifier: MIT
#include "json_report.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "absl/strings/str_format.h"
#include "clock_rate.h"
#include "matrix_report.h"
#include "terminal_text.h"

namespace pvops_run {
namespace {

// Emits indented JSON; tracks where commas go so callers only say what comes next.
class JsonWriter {
 public:
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(std::string_view key) {
    Separate();
    out_ += JsonQuoted(key);
    out_ += ": ";
    after_key_ = true;
  }
  void String(std::string_view value) { Scalar(JsonQuoted(value)); }
  void Int(std::int64_t value) { Scalar(absl::StrFormat("%d", value)); }
  void Uint(std::uint64_t value) { Scalar(absl::StrFormat("%d", value)); }
  void Double(double value) { Scalar(absl::StrFormat("%.3f", value)); }
  void Bool(bool value) { Scalar(value ? "true" : "false"); }
  void Null() { Scalar("null"); }

  // Guest values: plain decimal integers become numbers, everything else (hex, text) strings.
  void GuestValue(std::string_view value) {
    std::int64_t number = 0;
    std::string_view digits = value.substr(!value.empty() && value[0] == '-' ? 1 : 0);
    bool decimal = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
    if (decimal &&
        std::from_chars(value.data(), value.data() + value.size(), number).ec == std::errc()) {
      Int(number);
    } else {
      String(value);
    }
  }

  void Fields(const pvops_run::Fields& fields) {
    BeginObject();
    for (const auto& [key, value] : fields) {
      Key(key);
      GuestValue(value);
    }
    EndObject();
  }

  std::string Finish() { return out_ + "\n"; }

 private:
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      out_ += '\n';
      out_.append(2 * first_.size(), ' ');
    }
  }
  void Scalar(std::string_view text) {
    Separate();
    out_ += text;
  }
  void Open(char bracket) {
    Separate();
    out_ += bracket;
    first_.push_back(true);
  }
  void Close(char bracket) {
    bool empty = first_.back();
    first_.pop_back();
    if (!empty) {
      out_ += '\n';
      out_.append(2 * first_.size(), ' ');
    }
    out_ += bracket;
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

void WriteCounts(JsonWriter& json, const ClosingCounts& counts) {
  json.BeginObject();
  json.Key("passed");
  json.Int(counts.passed);
  json.Key("failed");
  json.Int(counts.failed);
  json.Key("skipped");
  json.Int(counts.skipped);
  json.EndObject();
}

template <typename T>
void IntOrNull(JsonWriter& json, const std::optional<T>& value) {
  if (value) {
    json.Int(*value);
  } else {
    json.Null();
  }
}

void WriteEnvironment(JsonWriter& json, const RunSettings& settings,
                      const EnvironmentResult& result) {
  const GuestLog& log = result.log;
  json.BeginObject();
  json.Key("name");
  json.String(result.name);
  json.Key("verdict");
  json.String(VerdictName(result.verdict.verdict));
  json.Key("reason");
  json.String(result.verdict.reason);
  json.Key("as_expected");
  json.Bool(result.verdict.verdict == settings.expect);
  json.Key("exit_status");
  IntOrNull(json, result.outcome.exit_status);
  json.Key("term_signal");
  IntOrNull(json, result.outcome.term_signal);
  json.Key("timed_out");
  json.Bool(result.outcome.timed_out);
  json.Key("wall_seconds");
  json.Double(result.wall_seconds);
  json.Key("detect");
  if (log.detect) {
    json.Fields(*log.detect);
  } else {
    json.Null();
  }
  json.Key("patch");
  if (log.patch) {
    json.Fields(*log.patch);
  } else {
    json.Null();
  }
  json.Key("candidates");
  json.BeginArray();
  for (const Fields& candidate : log.candidates) json.Fields(candidate);
  json.EndArray();
  json.Key("cases");
  json.BeginArray();
  for (const CaseLine& line : log.cases) {
    json.BeginObject();
    json.Key("number");
    json.Int(line.number);
    json.Key("name");
    json.String(line.name);
    json.Key("result");
    json.String(CaseResultName(line.result));
    json.Key("reason");
    json.String(line.reason);
    json.EndObject();
  }
  json.EndArray();
  json.Key("closing");
  if (log.closing) {
    WriteCounts(json, *log.closing);
  } else {
    json.Null();
  }
  json.Key("stats");
  json.Fields(log.stats);
  json.Key("bench");
  json.BeginArray();
  for (const pvops_run::Fields& line : log.bench) json.Fields(line);
  json.EndArray();
  for (const auto& [key, hops] : {std::pair{"move_hops", &log.move_hops},
                                  std::pair{"guest_move_hops", &log.guest_move_hops}}) {
    json.Key(key);
    json.BeginArray();
    for (const pvops_run::Fields& line : *hops) json.Fields(line);
    json.EndArray();
  }
  json.Key("clock_lines");
  json.BeginArray();
  for (const ClockLine& line : log.clock_lines) {
    json.BeginObject();
    json.Key("guest_ns");
    json.Uint(line.guest_ns);
    json.Key("host_ns");
    IntOrNull(json, line.host_ns);
    json.EndObject();
  }
  json.EndArray();
  json.Key("clock_vs_host");
  if (std::optional<ClockRate> rate = MeasureClockRate(log)) {
    json.BeginObject();
    json.Key("error_ppm");
    json.Double(rate->error_ppm);
    json.Key("guest_seconds");
    json.Double(rate->guest_seconds);
    json.Key("host_seconds");
    json.Double(rate->host_seconds);
    json.Key("judged");
    json.Bool(rate->Judged());
    json.Key("limit_ppm");
    json.Double(kClockRateLimitPpm);
    json.EndObject();
  } else {
    json.Null();
  }
  json.Key("fault");
  if (log.fault) {
    json.BeginObject();
    json.Key("line");
    json.String(log.fault->text);
    json.Key("fields");
    json.Fields(log.fault->fields);
    json.EndObject();
  } else {
    json.Null();
  }
  json.Key("console_lines");
  json.Int(static_cast<std::int64_t>(log.lines));
  json.EndObject();
}

}  // namespace

std::string RenderJson(const RunSettings& settings, const std::vector<EnvironmentResult>& results) {
  JsonWriter json;
  json.BeginObject();
  json.Key("image");
  json.String(settings.image);
  json.Key("cmdline");
  json.String(settings.cmdline);
  json.Key("expect");
  json.String(VerdictName(settings.expect));
  json.Key("timeout_seconds");
  json.Double(settings.timeout_seconds);
  json.Key("environments");
  json.BeginArray();
  for (const EnvironmentResult& result : results) WriteEnvironment(json, settings, result);
  json.EndArray();
  json.Key("totals");
  WriteCounts(json, SumCounts(results));
  json.EndObject();
  return json.Finish();
}

}  // namespace pvops_run
