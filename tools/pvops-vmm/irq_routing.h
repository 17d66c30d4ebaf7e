/* SPDX-License-Identifier: MIT */
// KVM's GSI routing for the in-kernel irqchip, laid out as QEMU's PC does: GSI n drives 8259 input
// n (none for the cascade, GSI 2) and IOAPIC pin n, except GSI 0 (the in-kernel PIT's output),
// which reaches IOAPIC pin 2. KVM's default table sends GSI 0 to pin 0, which would make the
// MADT's "ISA IRQ 0 -> GSI 2" override untrue.
#pragma once

#include <linux/kvm.h>

#include <vector>

namespace pvops::vmm {

std::vector<kvm_irq_routing_entry> BuildPcIrqRouting();

}  // namespace pvops::vmm
