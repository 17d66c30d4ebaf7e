// SPDX-License-Identifier: MIT
#include "kernel/percpu.h"

#include <pvops/pvops.h>

extern "C" {
guest::CpuStack cpu_stacks[guest::kMaxCpus];
guest::CpuStack fault_stacks[guest::kMaxCpus];
}

namespace guest {
namespace {

alignas(PVOPS_PAGE_SIZE) uint8_t g_cpu_areas[kMaxCpus - 1][PVOPS_CPU_AREA_SIZE];

}  // namespace

void* CpuArea(uint32_t cpu) { return cpu >= 1 && cpu < kMaxCpus ? g_cpu_areas[cpu - 1] : nullptr; }

void PrepareCpuStacks(uint32_t cpu) {
  cpu_stacks[cpu].cpu = cpu;
  cpu_stacks[cpu].magic = kStackMagic;
  fault_stacks[cpu].cpu = cpu;
  fault_stacks[cpu].magic = kStackMagic;
}

bool CpuStackIntact(uint32_t cpu) {
  return cpu_stacks[cpu].magic == kStackMagic && fault_stacks[cpu].magic == kStackMagic;
}

}  // namespace guest
