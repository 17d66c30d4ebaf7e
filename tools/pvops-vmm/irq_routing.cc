// SPDX-License-Identifier: MIT
#include "irq_routing.h"

#include "pc_platform.h"

namespace pvops::vmm {
namespace {

kvm_irq_routing_entry IrqchipRoute(uint32_t gsi, uint32_t irqchip, uint32_t pin) {
  kvm_irq_routing_entry entry{};
  entry.gsi = gsi;
  entry.type = KVM_IRQ_ROUTING_IRQCHIP;
  entry.u.irqchip.irqchip = irqchip;
  entry.u.irqchip.pin = pin;
  return entry;
}

}  // namespace

std::vector<kvm_irq_routing_entry> BuildPcIrqRouting() {
  std::vector<kvm_irq_routing_entry> routes;
  for (uint32_t irq = 0; irq < kIsaIrqs; ++irq) {
    if (irq == kPicCascadeIrq) continue;
    routes.push_back(
        IrqchipRoute(irq, irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq % 8));
  }
  for (uint32_t gsi = 0; gsi < kIoApicPins; ++gsi) {
    if (gsi == kTimerGsi) continue;  // pin 2 belongs to ISA IRQ 0
    routes.push_back(IrqchipRoute(gsi, KVM_IRQCHIP_IOAPIC, gsi == kTimerIsaIrq ? kTimerGsi : gsi));
  }
  return routes;
}

}  // namespace pvops::vmm
