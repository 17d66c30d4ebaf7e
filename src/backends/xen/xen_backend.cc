// The Xen backend's init: every earlier state forgotten, then PV (entered through the Xen PV
// entry: start_info in hand) or HVM/PVH (found by CPUID), and the info the kernel reads back.
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

pvops_status Init(const pvops_env& env, const pvops_candidate& found, pvops_ops* ops,
                  pvops_info* info, Reason* why) {
  ForgetEverything();
  // Each mode fills a copy: the kernel's table changes only when everything checked out.
  pvops_ops staged = *ops;
  const pvops_status st = env.entry == PVOPS_ENTRY_XEN_PV
                              ? InitPv(env, &staged, info, why)
                              : InitHvm(env, found, &staged, info, why);
  if (st != PVOPS_OK) {
    ForgetEverything();
    return st;
  }
  *ops = staged;
  info->version = g_state.version;
  info->features[0] = g_state.features;
  info->features[2] = g_state.paths;
  info->features[3] = static_cast<uint32_t>(g_state.mode);
  Reason reason = Reason::Continue(info->reason, sizeof(info->reason));
  reason.Separate().Add("Xen ").AddDec(g_state.version >> 16).Add(".")
      .AddDec(g_state.version & 0xffff);
  if (IsPv()) {
    reason.Add(" via the PV entry").Add(g_state.dom0 ? " as dom0, " : " as domU, ")
        .AddDec(Frames().nr_pages).Add(" pages");
  } else {
    reason.Add(g_state.mode == Mode::kHvmPage ? " HVM/PVH, hypercall page"
                                              : " HVM/PVH, vmcall/vmmcall (page refused)");
  }
  return PVOPS_OK;
}

}  // namespace pvops::xen
