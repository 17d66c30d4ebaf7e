/* SPDX-License-Identifier: MIT */
// Each backend's harmless hypercall (the rows live in cases_hypercall.cc): the suite's
// hypercall.null case checks the answer, the bench mode times the same call.
#pragma once

#include <stdint.h>

#include <pvops/pvops.hpp>

namespace guest::suite {

struct NullHypercall {
  pvops::Backend backend;
  const char* what;  // for the report
  uint64_t nr;
  uint64_t args[5];
  pvops_status expected_status;
  int64_t expected_result;  // checked when expected_status is PVOPS_OK
  const char* skip_reason;  // non-null: the expected status means "no interface", a SKIP
};

// The row for `backend`, or nullptr when it has none yet.
const NullHypercall* NullHypercallFor(pvops::Backend backend);

}  // namespace guest::suite
