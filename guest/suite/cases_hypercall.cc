// SPDX-License-Identifier: MIT
// hypercall.null: each backend's harmless hypercall, one row per backend. A new backend adds
// its row (the call, and the answer the real hypervisor gives) and nothing else.
#include <linux/kvm_para.h>
#include <stdint.h>
#include <xen/version.h>
#include <xen/xen.h>

#include <pvops/pvops.hpp>

#include "suite/cases.h"
#include "suite/null_hypercall.h"

namespace guest::suite {
namespace {

constexpr NullHypercall kNullHypercalls[] = {
    {pvops::Backend::kNative,
     "none",
     0,
     {},
     PVOPS_ERR_UNSUPPORTED,
     0,
     "no hypervisor interface (no signature at CPUID 0x40000000)"},
    // KVM answers VAPIC_POLL_IRQ with 0 and does nothing else: KVM's null hypercall.
    {pvops::Backend::kKvm,
     "KVM_HC_VAPIC_POLL_IRQ",
     KVM_HC_VAPIC_POLL_IRQ,
     {},
     PVOPS_OK,
     0,
     nullptr},
    // Hyper-V: a fast HvCallNotifyLongSpinWait (control word: code 0x0008 | fast bit 16) with a
    // spin count of 0xfff; KVM answers HV_STATUS_SUCCESS and only notes the spinning.
    {pvops::Backend::kHyperV,
     "HvCallNotifyLongSpinWait (fast)",
     0x10008,
     {0xfff},
     PVOPS_OK,
     0,
     nullptr},
    // Xen: xen_version(XENVER_version, NULL) answers major << 16 | minor; the xen and xen-pvh
    // environments run Xen 4.17.
    {pvops::Backend::kXen,
     "xen_version(XENVER_version)",
     __HYPERVISOR_xen_version,
     {XENVER_version},
     PVOPS_OK,
     0x00040011,
     nullptr},
    // VMware: the backdoor's GETVERSION (command 10); QEMU's vmport answers EAX = 6.
    {pvops::Backend::kVmi, "backdoor GETVERSION", 10, {0xffffffff}, PVOPS_OK, 6, nullptr},
};

}  // namespace

const NullHypercall* NullHypercallFor(pvops::Backend backend) {
  for (const NullHypercall& row : kNullHypercalls)
    if (row.backend == backend) return &row;
  return nullptr;
}

Result HypercallNull() {
  const pvops::Backend backend = pvops::ChosenBackend();
  const char* name = pvops_backend_name(static_cast<uint32_t>(backend));
  for (const NullHypercall& row : kNullHypercalls) {
    if (row.backend != backend) continue;
    int64_t result = 0;
    const pvops::Status status = pvops::Hypercall(row.nr, &result, row.args[0], row.args[1],
                                                  row.args[2], row.args[3], row.args[4]);
    if (SuiteOptions().hypercalls_refused && row.skip_reason == nullptr) {
      // The hypervisor refused the path: the library must say so, not make the call.
      Check(status.code() == PVOPS_ERR_UNSUPPORTED,
            "%s hypercall %s (nr %lu) returned %s although the hypervisor refused hypercalls", name,
            row.what, row.nr, status.name());
      Note("%s hypercall %s: %s (hypercalls=refused; notes: %s)", name, row.what, status.name(),
           pvops::Info().notes);
      return CheckResult();
    }
    Check(status.code() == row.expected_status, "%s hypercall %s (nr %lu) returned %s, expected %s",
          name, row.what, row.nr, status.name(), pvops_status_name(row.expected_status));
    if (row.skip_reason != nullptr) {
      // Native although an interface was seen (pvops=native, or a failed init): say so.
      const pvops_info& info = pvops::Info();
      if (info.candidate_count > 0)
        return Result::Skip("no hypervisor interface in use (%s detected, native chosen: %s)",
                            pvops_backend_name(info.candidates[0].backend), info.reason);
      return Result::Skip("%s", row.skip_reason);
    }
    Check(!status.ok() || result == row.expected_result,
          "%s hypercall %s answered %ld, expected %ld", name, row.what, result,
          row.expected_result);
    Note("%s hypercall %s: %s, result %ld", name, row.what, status.name(), result);
    return CheckResult();
  }
  return Result::Fail("no harmless hypercall is defined for backend %s (add its row)", name);
}

}  // namespace guest::suite
