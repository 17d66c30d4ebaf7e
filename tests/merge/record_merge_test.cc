// SPDX-License-Identifier: MIT
// pvops-run --merge on records of real runs: each record reads back to what the runner wrote,
// and the merged matrix has every environment of every record, with totals and an exit status
// computed here from the records themselves.
#include "record_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace pvops_run {
namespace {

const std::string kRecords = PVOPS_RECORDS_DIR;
// The minimal kernel on native and on Xen PVH, the reference guest's irq cases on native, and
// the reference guest faulting on native where its record expected a pass.
const std::vector<std::string> kFiles = {
    kRecords + "/example-native.json", kRecords + "/example-xen-pvh.json",
    kRecords + "/guest-irq-native.json", kRecords + "/guest-fault-native.json"};

std::string ReadText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(RecordMergeTest, EachRecordReadsBackToWhatTheRunnerWrote) {
  for (const std::string& path : kFiles) {
    const std::string text = ReadText(path);
    ASSERT_FALSE(text.empty()) << path;
    std::string error;
    const std::optional<RunRecord> record = ReadRecord(text, &error);
    ASSERT_TRUE(record) << path << ": " << error;
    EXPECT_EQ(RenderJson(record->settings, record->results), text) << path;
  }
}

struct Expected {
  int passed = 0, failed = 0, skipped = 0;
  bool all_as_expected = true;
  std::vector<std::string> environments;
  std::map<std::pair<std::string, std::string>, std::string> cells;  // (case, env) -> cell
};

// What the merged matrix must say, from the records' JSON alone.
Expected ExpectedFromRecords(const std::vector<std::string>& paths) {
  Expected expected;
  for (const std::string& path : paths) {
    const nlohmann::json record = nlohmann::json::parse(ReadText(path));
    const std::string stem = std::filesystem::path(path).stem();
    for (const nlohmann::json& env : record["environments"]) {
      std::string name = env["name"];
      // The rule --merge documents: a name seen in an earlier record gets @FILE-STEM.
      if (std::find(expected.environments.begin(), expected.environments.end(), name) !=
          expected.environments.end()) {
        name += "@" + stem;
      }
      expected.environments.push_back(name);
      int failed_cases = 0;
      for (const nlohmann::json& line : env["cases"]) {
        const std::string result = line["result"];
        expected.passed += result == "pass";
        expected.skipped += result == "skip";
        failed_cases += result == "fail";
        expected.cells[{line["name"], name}] = result == "fail" ? "FAIL" : result;
      }
      expected.failed += failed_cases;
      if (env["verdict"] != "pass" && failed_cases == 0) ++expected.failed;
      expected.all_as_expected = expected.all_as_expected && env["verdict"] == record["expect"];
    }
  }
  return expected;
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

TEST(RecordMergeTest, OneMatrixOfEveryRecordsEnvironments) {
  const Expected expected = ExpectedFromRecords(kFiles);
  ASSERT_EQ(expected.environments.size(), 4u);
  std::ostringstream out, err;
  const int status = MergeRecords(kFiles, out, err);
  EXPECT_EQ(status, expected.all_as_expected ? 0 : 1);
  EXPECT_FALSE(expected.all_as_expected) << "the fault record should not meet its expectation";
  EXPECT_EQ(err.str(), "");

  std::istringstream lines(out.str());
  std::vector<std::string> header;
  std::map<std::pair<std::string, std::string>, std::string> cells;
  std::string line, closing;
  int record_lines = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("# ", 0) == 0) ++record_lines;
    const std::vector<std::string> words = Words(line);
    if (!words.empty() && words[0] == "case") {
      header = words;
    } else if (!header.empty() && words.size() == header.size() && line[0] != '[' &&
               line[0] != '#') {
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i] != "-") cells[{words[0], header[i]}] = words[i];
      }
    }
    if (!line.empty()) closing = line;
  }
  EXPECT_EQ(record_lines, 4);
  // Three records ran native: the later two are told apart by their files' stems.
  std::vector<std::string> expected_header = {"case"};
  expected_header.insert(expected_header.end(), expected.environments.begin(),
                         expected.environments.end());
  EXPECT_EQ(header, expected_header);
  EXPECT_EQ(cells, expected.cells);
  EXPECT_EQ(closing, std::to_string(expected.passed) + " passed, " +
                         std::to_string(expected.failed) + " failed, " +
                         std::to_string(expected.skipped) + " skipped");
}

TEST(RecordMergeTest, WhatIsNotARecordIsRefusedWithWhy) {
  std::string error;
  EXPECT_FALSE(ReadRecord("{}", &error));
  EXPECT_NE(error.find("image"), std::string::npos) << error;
  EXPECT_FALSE(ReadRecord("not json", &error));
  EXPECT_FALSE(error.empty());
  std::ostringstream out, err;
  EXPECT_EQ(MergeRecords({kFiles[0], kRecords + "/absent.json"}, out, err), 2);
  EXPECT_NE(err.str().find("absent.json"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace pvops_run
