// SPDX-License-Identifier: MIT
#include "core/select.h"

namespace pvops::core {
namespace {

constexpr const char* kBackendNames[PVOPS_BACKEND_COUNT] = {"native", "kvm", "xen", "hyperv",
                                                            "vmi"};

void DescribeCandidate(const pvops_candidate& c, Reason* why) {
  why->Add(kBackendNames[c.backend]);
  if (c.base_leaf != 0) why->Add(" at ").AddHex(c.base_leaf);
  why->Add(" (priority ").AddHex(c.priority).Add(")");
}

}  // namespace

uint32_t BackendIdByName(const char* name) {
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id)
    if (StringsEqual(kBackendNames[id], name)) return id;
  return PVOPS_BACKEND_COUNT;
}

SelectionPlan PlanSelection(const pvops_candidate (&found)[PVOPS_BACKEND_COUNT],
                            const char* override_name, Reason* why, uint32_t built_in) {
  SelectionPlan plan{};
  why->Clear();
  if (override_name != nullptr) {
    const uint32_t id = BackendIdByName(override_name);
    if (id == PVOPS_BACKEND_NATIVE) {
      why->Add("pvops=native on the command line");
      plan.order[plan.count++] = PVOPS_BACKEND_NATIVE;
      return plan;
    }
    if (id < PVOPS_BACKEND_COUNT) {
      if ((built_in >> id & 1) == 0) {
        why->Add("pvops=")
            .Add(override_name)
            .Add(" on the command line, but ")
            .Add(override_name)
            .Add(" is not built in; native");
      } else if (found[id].priority != 0) {
        why->Add("pvops=").Add(override_name).Add(" on the command line");
        plan.order[plan.count++] = id;
      } else {
        // An override never reaches for an interface that is not there: its calls would fault.
        why->Add("pvops=")
            .Add(override_name)
            .Add(" on the command line, but no ")
            .Add(override_name)
            .Add(" interface was detected; native");
      }
      plan.order[plan.count++] = PVOPS_BACKEND_NATIVE;
      return plan;
    }
    why->Add("unknown pvops=").Add(override_name).Add(" ignored; ");
  }

  // Highest priority first (a stable selection sort over at most five entries).
  bool taken[PVOPS_BACKEND_COUNT] = {};
  for (;;) {
    uint32_t best = PVOPS_BACKEND_COUNT;
    for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id) {
      if (id == PVOPS_BACKEND_NATIVE || taken[id] || found[id].priority == 0) continue;
      if (best == PVOPS_BACKEND_COUNT || found[id].priority > found[best].priority) best = id;
    }
    if (best == PVOPS_BACKEND_COUNT) break;
    taken[best] = true;
    plan.order[plan.count++] = best;
  }
  if (plan.count == 0) {
    why->Add("no hypervisor interface detected");
    // A build without some backends cannot see their hypervisors: say which were looked for.
    if (built_in != kAllBackends) {
      why->Add(" by the backends built in:");
      for (uint32_t id = PVOPS_BACKEND_NATIVE + 1; id < PVOPS_BACKEND_COUNT; ++id)
        if ((built_in >> id & 1) != 0) why->Add(" ").Add(kBackendNames[id]);
    }
  } else {
    why->Add("highest priority: ");
    DescribeCandidate(found[plan.order[0]], why);
    for (uint32_t i = 1; i < plan.count; ++i) {
      why->Add(i == 1 ? " over " : ", ");
      DescribeCandidate(found[plan.order[i]], why);
    }
  }
  plan.order[plan.count++] = PVOPS_BACKEND_NATIVE;
  return plan;
}

}  // namespace pvops::core

extern "C" const char* pvops_backend_name(uint32_t backend) {
  return backend < PVOPS_BACKEND_COUNT ? pvops::core::kBackendNames[backend] : "unknown";
}
