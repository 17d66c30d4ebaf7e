/* SPDX-License-Identifier: MIT */
// Keeps one idle VM alive for the L1's lifetime so KVM never flips the L1 kernel's static keys
// while guests come and go (envs/kvm/README.md, "Why /init holds a VM").
#pragma once

#include "console_output.h"

namespace pvops::vmm {

// Creates a VM with the in-kernel irqchip and one never-run vCPU, says so on the console, and
// sleeps until killed. Throws VmmError when KVM refuses any step.
[[noreturn]] void HoldKvmStaticKeys(ConsoleOutput& console);

}  // namespace pvops::vmm
