// SPDX-License-Identifier: MIT
#include "sim_machine.h"

namespace pvops::sim {
namespace {

uint32_t ThisCpu() { return Current().current_cpu(); }
uint64_t VirtToPhys(const void* va) { return Current().VirtToPhys(va); }
void* PhysToVirt(uint64_t pa) { return Current().PhysToVirt(pa); }

}  // namespace

void LoadCpuModel(SimCpu& cpu, const CpuModel& model) {
  // "GenuineIntel" in EBX, EDX, ECX order.
  cpu.SetCpuid(0, {model.max_basic_leaf, 0x756e6547, 0x6c65746e, 0x49656e69});
  pvops_cpuid_regs leaf1{};
  leaf1.eax = 0x000806f8;  // a family 6 signature; nothing reads it
  leaf1.ecx = (model.hypervisor_bit ? kCpuid1EcxHypervisor : 0) |
              (model.x2apic ? kCpuid1EcxX2apic : 0) |
              (model.tsc_deadline ? kCpuid1EcxTscDeadline : 0);
  leaf1.edx = kCpuid1EdxTsc | kCpuid1EdxMsr | kCpuid1EdxApic;
  cpu.SetCpuid(1, leaf1);
  if (model.max_basic_leaf >= 0x15) {
    cpu.SetCpuid(0x15,
                 {model.tsc_ratio_denominator, model.tsc_ratio_numerator, model.crystal_hz, 0});
  }
  if (model.max_basic_leaf >= 0x16) cpu.SetCpuid(0x16, {model.base_mhz, 0, 0, 0});
}

pvops_env MakeEnv(const char* cmdline, uint32_t entry, const void* boot_info) {
  pvops_env env{};
  env.size = sizeof(env);
  env.entry = entry;
  env.cmdline = cmdline;
  env.boot_info = boot_info;
  env.this_cpu = ThisCpu;
  env.virt_to_phys = VirtToPhys;
  env.phys_to_virt = PhysToVirt;
  env.max_cpus = PVOPS_MAX_CPUS;
  env.cpu_area_size = PVOPS_CPU_AREA_SIZE;
  return env;
}

}  // namespace pvops::sim
