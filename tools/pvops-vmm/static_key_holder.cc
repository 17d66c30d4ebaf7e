// SPDX-License-Identifier: MIT
#include "static_key_holder.h"

#include <unistd.h>

#include "kvm_handles.h"
#include "xen_personality.h"

namespace pvops::vmm {

// Creating the first VM enables preempt_notifier_key, and a vCPU whose LAPIC is still software
// disabled holds apic_sw_disabled; both drop back (rewriting kernel text) when the last such VM
// or vCPU goes. Under QEMU's multi-threaded TCG a CPU woken from idle can run the old bytes of
// such a rewrite and die on its int3, so /init creates this holder while only one CPU is online
// and every later VM leaves the keys' code alone. A VM configured for Xen holds kvm_xen_enabled
// the same way (the key drops when the last such VM goes), for the xen personality's runs.
void HoldKvmStaticKeys(ConsoleOutput& console) {
  KvmSystem kvm;
  Vm vm(kvm);
  vm.CreateIrqchip();
  Vcpu vcpu(vm, 0);
  if (kvm.CheckExtension(KVM_CAP_XEN_HVM) > 0) {
    kvm_xen_hvm_config xen{};
    xen.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL;
    xen.msr = kXenHypercallPageMsr;
    vm.SetXenHvmConfig(xen);
  }
  console.Note("holding an idle VM: KVM's static keys stay set");
  for (;;) pause();
}

}  // namespace pvops::vmm
