// SPDX-License-Identifier: MIT
#include "irq_routing.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

namespace pvops::vmm {
namespace {

TEST(IrqRouting, LikeQemusPcWithThePitOnIoApicPin2) {
  std::map<uint32_t, std::set<std::pair<uint32_t, uint32_t>>> targets;  // gsi -> {(chip, pin)}
  std::set<std::pair<uint32_t, uint32_t>> pins_used;
  for (const kvm_irq_routing_entry& route : BuildPcIrqRouting()) {
    ASSERT_EQ(route.type, static_cast<uint32_t>(KVM_IRQ_ROUTING_IRQCHIP));
    EXPECT_EQ(route.flags, 0u);
    const std::pair<uint32_t, uint32_t> pin{route.u.irqchip.irqchip, route.u.irqchip.pin};
    EXPECT_TRUE(pins_used.insert(pin).second) << "one GSI per irqchip input";
    targets[route.gsi].insert(pin);
  }
  using Pins = std::set<std::pair<uint32_t, uint32_t>>;
  EXPECT_EQ(targets[0], (Pins{{KVM_IRQCHIP_PIC_MASTER, 0}, {KVM_IRQCHIP_IOAPIC, 2}}));
  EXPECT_EQ(targets.count(2), 0u) << "GSI 2: the 8259 cascade, and its IOAPIC pin is IRQ 0's";
  EXPECT_EQ(targets[4], (Pins{{KVM_IRQCHIP_PIC_MASTER, 4}, {KVM_IRQCHIP_IOAPIC, 4}})) << "COM1";
  EXPECT_EQ(targets[8], (Pins{{KVM_IRQCHIP_PIC_SLAVE, 0}, {KVM_IRQCHIP_IOAPIC, 8}}));
  EXPECT_EQ(targets[15], (Pins{{KVM_IRQCHIP_PIC_SLAVE, 7}, {KVM_IRQCHIP_IOAPIC, 15}}));
  EXPECT_EQ(targets[23], (Pins{{KVM_IRQCHIP_IOAPIC, 23}}));
  EXPECT_EQ(targets.size(), 23u);  // GSIs 0-23 but 2
}

}  // namespace
}  // namespace pvops::vmm
