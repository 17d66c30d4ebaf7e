/* SPDX-License-Identifier: MIT */
// The local APIC through Hyper-V's synthetic MSRs (HV_X64_MSR_EOI, _ICR, _TPR): one exit per
// access in either APIC mode, and with the VP assist page an EOI that needs no exit at all when
// the hypervisor says it will complete it itself.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::hyperv {

// Registers `cpu`'s VP assist page (run on that CPU).
[[nodiscard]] pvops_status EnableVpAssistOn(uint32_t cpu);
// `cpu`'s assist word (for tests: what the hypervisor sets); nullptr without an area.
volatile uint32_t* ApicAssistWord(uint32_t cpu);

// The LAPIC set-up of cpu_init with the TPR written through HV_X64_MSR_TPR: records the APIC
// ID, opens every priority class, software-enables the APIC on the spurious vector.
[[nodiscard]] pvops_status SetUpLapicOn(uint32_t cpu);

void WriteTpr(uint8_t priority);
uint8_t ReadTpr();
// kernel.read_tpr / write_tpr: the priority class, TPR bits 7:4.
uint64_t ReadTprClass();
[[nodiscard]] pvops_status WriteTprClass(uint64_t priority_class);

// irq.eoi: the assist page's verdict first, HV_X64_MSR_EOI otherwise.
void Eoi();
// irq.send_ipi through HV_X64_MSR_ICR, one write per target.
[[nodiscard]] pvops_status SendIpiByIcrMsr(const pvops_cpuset* cpus, uint8_t vector);

}  // namespace pvops::hyperv
