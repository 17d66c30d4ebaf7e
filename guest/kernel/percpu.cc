#include "kernel/percpu.h"

extern "C" {
guest::CpuStack cpu_stacks[guest::kMaxCpus];
guest::CpuStack fault_stacks[guest::kMaxCpus];
}

namespace guest {

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
