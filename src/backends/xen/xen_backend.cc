// SPDX-License-Identifier: MIT
// The Xen backend's init: every earlier state forgotten, then PV (entered through the Xen PV
// entry: start_info in hand) or HVM/PVH (found by CPUID), and the report the core turns into
// the info the kernel reads back.
#include "backends/xen/xen.h"

namespace pvops::xen {
namespace {

void ForgetEverything() {
  g_state = State{};
  ResetPlatform();
  ResetEvents();
  ResetBatches();
  ResetTime();
  (void)InstallFrameMaps(FrameMaps{});
}

}  // namespace

[[nodiscard]] pvops_status Init(const pvops_env& env, const pvops_candidate& found, pvops_ops* ops,
                                core::BackendReport* report, Reason* why) {
  ForgetEverything();
  const pvops_status st = env.entry == PVOPS_ENTRY_XEN_PV ? InitPv(env, ops, report, why)
                                                          : InitHvm(env, found, ops, report, why);
  if (st != PVOPS_OK) {
    ForgetEverything();
    return st;
  }
  report->version = g_state.version;
  report->features[0] = g_state.features;
  report->features[2] = g_state.paths;
  report->features[3] = static_cast<uint32_t>(g_state.mode);
  Reason found_text(report->reason, sizeof(report->reason));
  found_text.Add("Xen ").AddDec(g_state.version >> 16).Add(".").AddDec(g_state.version & 0xffff);
  if (IsPv()) {
    found_text.Add(" via the PV entry")
        .Add(g_state.dom0 ? " as dom0, " : " as domU, ")
        .AddDec(Frames().nr_pages)
        .Add(" pages");
  } else {
    found_text.Add(g_state.mode == Mode::kHvmPage ? " HVM/PVH, hypercall page"
                                                  : " HVM/PVH, vmcall/vmmcall (page refused)");
  }
  return PVOPS_OK;
}

}  // namespace pvops::xen
