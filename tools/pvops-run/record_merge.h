/* SPDX-License-Identifier: MIT */
// pvops-run --merge: one matrix from the JSON records (--json) of runs made apart, on several
// machines (a CI job per environment). A record read back is the run as the runner rendered it:
// RenderJson of what ReadRecord returns gives the same text.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "environment_run.h"
#include "json_report.h"

namespace pvops_run {

struct RunRecord {
  RunSettings settings;
  std::vector<EnvironmentResult> results;  // what the console would have held is not recorded
};

// Parses one record; nullopt with *error set when it is not JSON or not a pvops-run record.
std::optional<RunRecord> ReadRecord(std::string_view json_text, std::string* error);

// Reads each file, prints one line per record, then the matrix of all their environments (an
// environment seen in an earlier record is shown as NAME@FILE-STEM). Returns 0 when every
// environment met its own record's expectation, 1 when one did not, 2 when a file could not be
// read as a record.
int MergeRecords(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err);

}  // namespace pvops_run
