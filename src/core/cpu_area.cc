// SPDX-License-Identifier: MIT
#include "core/cpu_area.h"

namespace pvops::core {
namespace {

// pvops_init runs before the kernel has an allocator: the boot CPU's area is the library's.
alignas(PVOPS_PAGE_SIZE) CpuArea g_boot_area;
// Secondary CPUs' areas, published with release once prepared. [0] stays unused.
CpuArea* g_areas[PVOPS_MAX_CPUS];
// What a CPU without an area reads: offline, APIC ID 0.
constexpr PerCpu kNoCpu{};

void Prepare(CpuArea* area) {
  __builtin_memset(area, 0, sizeof(*area));
  hw::EmptyMailbox(&area->shootdown);
}

}  // namespace

CpuArea* AreaOf(uint32_t cpu) {
  if (cpu == 0) return &g_boot_area;
  if (cpu >= PVOPS_MAX_CPUS) return nullptr;
  return __atomic_load_n(&g_areas[cpu], __ATOMIC_ACQUIRE);
}

CpuArea& ThisArea() {
  CpuArea* area = AreaOf(ThisCpu());
  return area != nullptr ? *area : g_boot_area;
}

const PerCpu& Cpu(uint32_t cpu) {
  const CpuArea* area = AreaOf(cpu);
  return area != nullptr ? area->core : kNoCpu;
}

PerCpu* CpuRecord(uint32_t cpu) {
  CpuArea* area = AreaOf(cpu);
  return area != nullptr ? &area->core : nullptr;
}

uint32_t OnlineCpuCount() {
  uint32_t n = 0;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) n += Cpu(cpu).online != 0;
  return n;
}

void ResetCpuAreas() {
  for (CpuArea*& area : g_areas) __atomic_store_n(&area, nullptr, __ATOMIC_RELEASE);
  Prepare(&g_boot_area);
}

}  // namespace pvops::core

extern "C" PVOPS_BOOT_CODE pvops_status pvops_set_cpu_area(uint32_t cpu, void* area) {
  using namespace pvops::core;
  if (cpu == 0 || cpu >= PVOPS_MAX_CPUS || area == nullptr) return PVOPS_ERR_INVALID;
  // Page-aligned both ways, so no part the hypervisor writes crosses a page of the kernel's.
  if (reinterpret_cast<uintptr_t>(area) % PVOPS_PAGE_SIZE != 0 ||
      VirtToPhys(area) % PVOPS_PAGE_SIZE != 0)
    return PVOPS_ERR_INVALID;
  CpuArea* current = AreaOf(cpu);
  if (current == area) return PVOPS_OK;  // again, as a kernel does each time the CPU comes up
  // The hypervisor may be writing into an online CPU's area: it stays that CPU's.
  if (current != nullptr && current->core.online != 0) return PVOPS_ERR_INVALID;
  auto* fresh = static_cast<CpuArea*>(area);
  Prepare(fresh);
  __atomic_store_n(&g_areas[cpu], fresh, __ATOMIC_RELEASE);
  return PVOPS_OK;
}
