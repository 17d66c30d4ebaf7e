/* SPDX-License-Identifier: MIT */
// Choosing the order in which backends are tried, from what the probes found and the
// `pvops=` override. Pure logic, no hardware: host tests drive it directly.
#pragma once

#include <pvops/pvops.h>

#include "core/reason.h"

namespace pvops::core {

struct SelectionPlan {
  // Backends to try, best first; always ends with native.
  uint32_t order[PVOPS_BACKEND_COUNT];
  uint32_t count;
};

// Every backend id, one bit each: what a build with every backend has built in.
inline constexpr uint32_t kAllBackends = (1u << PVOPS_BACKEND_COUNT) - 1;

// `found` holds one entry per backend id (priority 0 = absent). `override_name` is the value of
// `pvops=` or nullptr. `built_in` has bit `id` set for each backend the build holds (CMake
// PVOPS_BACKENDS; native always). `why` receives the reason for the first entry of the plan.
SelectionPlan PlanSelection(const pvops_candidate (&found)[PVOPS_BACKEND_COUNT],
                            const char* override_name, Reason* why,
                            uint32_t built_in = kAllBackends);

// Backend id for a `pvops=` name, or PVOPS_BACKEND_COUNT when unknown.
uint32_t BackendIdByName(const char* name);

}  // namespace pvops::core
