// SPDX-License-Identifier: MIT
#include "record_merge.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "matrix_report.h"
#include "nlohmann/json.hpp"

namespace pvops_run {
namespace {

// Keys in the order written: detect and stat fields keep the guest's order.
using json = nlohmann::ordered_json;

// A guest value as the console had it: JSON numbers were decimal text (json_report.cc).
std::string GuestText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

Fields ReadFields(const json& object) {
  Fields fields;
  for (const auto& [key, value] : object.items()) fields.emplace_back(key, GuestText(value));
  return fields;
}

// The console line's text back from its fields, for the matrix's detect and candidate lines.
std::string FieldsText(const Fields& fields) {
  return absl::StrJoin(fields, " ", [](std::string* out, const auto& field) {
    const bool quote = field.second.empty() || field.second.find(' ') != std::string::npos;
    absl::StrAppend(out, field.first, "=", quote ? "\"" : "", field.second, quote ? "\"" : "");
  });
}

template <typename T>
std::optional<T> Optional(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<T>();
}

ClosingCounts ReadCounts(const json& object) {
  return {.passed = object.at("passed").get<int>(),
          .failed = object.at("failed").get<int>(),
          .skipped = object.at("skipped").get<int>()};
}

Verdict ReadVerdict(const json& value) {
  const std::optional<Verdict> verdict = ParseVerdictName(value.get<std::string>());
  if (!verdict) throw std::runtime_error("unknown verdict " + value.dump());
  return *verdict;
}

CaseResult ReadCaseResult(const json& value) {
  for (CaseResult result : {CaseResult::kPass, CaseResult::kFail, CaseResult::kSkip}) {
    if (CaseResultName(result) == value.get<std::string>()) return result;
  }
  throw std::runtime_error("unknown case result " + value.dump());
}

EnvironmentResult ReadEnvironment(const json& env) {
  EnvironmentResult result;
  result.name = env.at("name").get<std::string>();
  result.verdict = {.verdict = ReadVerdict(env.at("verdict")),
                    .reason = env.at("reason").get<std::string>()};
  result.outcome.exit_status = Optional<int>(env.at("exit_status"));
  result.outcome.term_signal = Optional<int>(env.at("term_signal"));
  result.outcome.timed_out = env.at("timed_out").get<bool>();
  result.wall_seconds = env.at("wall_seconds").get<double>();

  GuestLog& log = result.log;
  if (!env.at("detect").is_null()) {
    log.detect = ReadFields(env.at("detect"));
    log.detect_text = FieldsText(*log.detect);
  }
  if (!env.at("patch").is_null()) log.patch = ReadFields(env.at("patch"));
  for (const json& candidate : env.at("candidates")) {
    log.candidates.push_back(ReadFields(candidate));
    log.candidate_texts.push_back(FieldsText(log.candidates.back()));
  }
  for (const json& line : env.at("cases")) {
    log.cases.push_back({.number = line.at("number").get<int>(),
                         .name = line.at("name").get<std::string>(),
                         .result = ReadCaseResult(line.at("result")),
                         .reason = line.at("reason").get<std::string>()});
  }
  if (!env.at("closing").is_null()) log.closing = ReadCounts(env.at("closing"));
  log.stats = ReadFields(env.at("stats"));
  for (const json& line : env.at("bench")) log.bench.push_back(ReadFields(line));
  // Records from runners older than the move lines have neither key: no hops.
  for (const json& line : env.value("move_hops", json::array()))
    log.move_hops.push_back(ReadFields(line));
  for (const json& line : env.value("guest_move_hops", json::array()))
    log.guest_move_hops.push_back(ReadFields(line));
  for (const json& line : env.at("clock_lines")) {
    log.clock_lines.push_back({.guest_ns = line.at("guest_ns").get<std::uint64_t>(),
                               .host_ns = Optional<std::int64_t>(line.at("host_ns"))});
  }
  if (!env.at("fault").is_null()) {
    log.fault = FaultReport{.text = env.at("fault").at("line").get<std::string>(),
                            .fields = ReadFields(env.at("fault").at("fields"))};
  }
  log.lines = env.at("console_lines").get<std::size_t>();
  return result;
}

}  // namespace

std::optional<RunRecord> ReadRecord(std::string_view json_text, std::string* error) {
  try {
    const json record = json::parse(json_text);
    RunRecord out;
    out.settings = {.image = record.at("image").get<std::string>(),
                    .cmdline = record.at("cmdline").get<std::string>(),
                    .expect = ReadVerdict(record.at("expect")),
                    .timeout_seconds = record.at("timeout_seconds").get<double>()};
    for (const json& env : record.at("environments")) out.results.push_back(ReadEnvironment(env));
    return out;
  } catch (const std::exception& e) {  // nlohmann's parse, type and missing-key errors
    *error = e.what();
    return std::nullopt;
  }
}

int MergeRecords(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err) {
  std::vector<EnvironmentResult> all;
  std::set<std::string> names;
  bool all_as_expected = true;
  for (const std::string& path : paths) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    std::string error = file ? "" : "cannot read the file";
    std::optional<RunRecord> record;
    if (error.empty()) record = ReadRecord(text.str(), &error);
    if (!record) {
      err << "pvops-run: " << path << ": not a pvops-run record: " << error << "\n";
      return 2;
    }
    std::vector<std::string> env_names;
    for (EnvironmentResult& result : record->results) {
      all_as_expected = all_as_expected && result.verdict.verdict == record->settings.expect;
      if (!names.insert(result.name).second) {
        result.name = absl::StrCat(result.name, "@", std::filesystem::path(path).stem().string());
        names.insert(result.name);
      }
      env_names.push_back(result.name);
      all.push_back(std::move(result));
    }
    out << "# " << path << ": " << absl::StrJoin(env_names, ", ") << " (image "
        << record->settings.image << ", expect " << VerdictName(record->settings.expect)
        << (record->settings.cmdline.empty() ? ""
                                             : ", cmdline \"" + record->settings.cmdline + "\"")
        << ")\n";
  }
  PrintMatrix(all, out);
  return all_as_expected ? 0 : 1;
}

}  // namespace pvops_run
