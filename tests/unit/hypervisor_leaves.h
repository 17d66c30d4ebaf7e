/* SPDX-License-Identifier: MIT */
// A bare-metal machine whose CPUID carries hypervisor blocks, as bare as detection reads them:
// the signature leaf, and the next leaf where a probe checks it. For the tests of detection and
// selection (tests/unit, tests/backends).
#pragma once

#include <stdint.h>

#include <string_view>

#include "bare_metal_machine.h"

namespace pvops::test {

inline constexpr char kKvmSignature[] = "KVMKVMKVM\0\0\0";
inline constexpr char kXenSignature[] = "XenVMMXenVMM";
inline constexpr char kHyperVSignature[] = "Microsoft Hv";
inline constexpr uint32_t kHv1 = 0x31237648;  // "Hv#1"

class HypervisorLeavesTest : public BareMetalMachineTest {
 protected:
  HypervisorLeavesTest() { model_.hypervisor_bit = true; }

  // Each block at `base`; its max leaf `max_leaf`, or the last leaf the probe reads.
  void Kvm(uint32_t base, uint32_t max_leaf = 0) {
    sim_.SetHypervisorLeaf(base, max_leaf != 0 ? max_leaf : base + 1,
                           std::string_view(kKvmSignature, 12));
    sim_.SetCpuid(base + 1, {0x01007efb, 0, 0, 0});
  }
  void Xen(uint32_t base, uint32_t max_leaf = 0) {
    sim_.SetHypervisorLeaf(base, max_leaf != 0 ? max_leaf : base + 2, kXenSignature);
  }
  void HyperV(uint32_t base, bool hv1 = true, uint32_t max_leaf = 0) {
    sim_.SetHypervisorLeaf(base, max_leaf != 0 ? max_leaf : base + 5, kHyperVSignature);
    sim_.SetCpuid(base + 1, {hv1 ? kHv1 : 0u, 0, 0, 0});
  }
};

}  // namespace pvops::test
