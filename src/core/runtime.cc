// SPDX-License-Identifier: MIT
#include "core/runtime.h"

#include "core/backend.h"
#include "core/cpu_area.h"
#include "core/oneshot.h"
#include "core/reason.h"

namespace pvops::core {
namespace {

uint32_t BootCpuOnly() { return 0; }
// Without the kernel's help: virtual equals physical (an identity-mapped early kernel), and no
// physical memory is assumed mapped, so nothing is read through a guessed mapping.
uint64_t IdentityVirtToPhys(const void* va) { return reinterpret_cast<uintptr_t>(va); }
void* NothingMapped(uint64_t) { return nullptr; }

pvops_env g_env = {sizeof(pvops_env),
                   PVOPS_ENTRY_NATIVE,
                   nullptr,
                   nullptr,
                   BootCpuOnly,
                   IdentityVirtToPhys,
                   NothingMapped,
                   0,
                   0,
                   nullptr,
                   PVOPS_MAX_CPUS,
                   PVOPS_CPU_AREA_SIZE,
                   PVOPS_TEXT_DO_NOT_PATCH,
                   0,
                   nullptr,
                   nullptr,
                   nullptr};
IrqHandler g_handlers[256];
constexpr const char* kCounterNames[] = {
    "hypercalls",
    "ipis_sent",
    "ipi_hypercalls",
    "tlb_flush_remote",
    "tlb_flush_hypercalls",
    "tlb_flush_preempted_skipped",
    "tlb_flush_remote_calls",
    "pv_eoi_fast",
    "pv_eoi_slow",
    "pte_updates",
    "lazy_batches",
    "lazy_batched_updates",
    "lock_waits",
    "lock_kicks",
    "timer_arms",
    "timer_early_rearms",
    "clock_reads",
    "clock_retries",
};
constexpr CounterSet<Counter> kSharedCounters{kCounterNames};

// Every counter in pvops_get_counters' order: the shared ones, then each backend's own.
template <typename Visit>
void ForEachCounterGroup(Visit visit) {
  visit(kSharedCounters.group());
  for (uint32_t id = 0; id < PVOPS_BACKEND_COUNT; ++id) visit(BackendById(id).counters);
}

}  // namespace

PVOPS_BOOT_CODE void InstallEnv(const pvops_env& env) {
  g_env = env;
  if (g_env.this_cpu == nullptr) g_env.this_cpu = BootCpuOnly;
  if (g_env.virt_to_phys == nullptr) g_env.virt_to_phys = IdentityVirtToPhys;
  if (g_env.phys_to_virt == nullptr) g_env.phys_to_virt = NothingMapped;
}

const pvops_env& Env() { return g_env; }
uint32_t ThisCpu() {
  const uint32_t cpu = g_env.this_cpu();
  return cpu < PVOPS_MAX_CPUS ? cpu : 0;
}
uint64_t VirtToPhys(const void* va) { return g_env.virt_to_phys(va); }
bool KernelOwnsApic() { return (g_env.flags & PVOPS_ENV_KERNEL_OWNS_APIC) != 0; }
void* PhysToVirt(uint64_t pa) { return g_env.phys_to_virt(pa); }

LoaderMapping g_loader_mapping;

[[nodiscard]] pvops_status SetIrqHandler(uint8_t vector, pvops_irq_handler fn, void* ctx) {
  if (vector < 32) return PVOPS_ERR_INVALID;  // exceptions belong to the kernel
  // Publish ctx before fn: an interrupt on another CPU reads fn first.
  __atomic_store_n(&g_handlers[vector].ctx, ctx, __ATOMIC_RELAXED);
  __atomic_store_n(&g_handlers[vector].fn, fn, __ATOMIC_RELEASE);
  return PVOPS_OK;
}

IrqHandler GetIrqHandler(uint8_t vector) {
  IrqHandler h;
  h.fn = __atomic_load_n(&g_handlers[vector].fn, __ATOMIC_ACQUIRE);
  h.ctx = __atomic_load_n(&g_handlers[vector].ctx, __ATOMIC_RELAXED);
  return h;
}

uint64_t CounterValue(Counter c) { return kSharedCounters.Value(c); }

#ifdef PVOPS_SIM_CPU
void ResetForTest() {
  ResetCpuAreas();
  g_loader_mapping = LoaderMapping{};
  for (IrqHandler& h : g_handlers) h = IrqHandler{};
  ForEachCounterGroup([](const CounterGroup& g) {
    for (uint32_t i = 0; i < g.count; ++i) g.values[i] = 0;
  });
}
#endif

}  // namespace pvops::core

extern "C" void pvops_handle_interrupt(uint8_t vector) {
  // A one-shot timer that fired before its deadline was armed again; its handler waits.
  if (pvops::core::OneshotInterrupt(vector) != pvops::core::OneshotVerdict::kEarly) {
    const pvops::core::IrqHandler h = pvops::core::GetIrqHandler(vector);
    if (h.fn != nullptr) h.fn(vector, h.ctx);
  }
  // The spurious vector must not be acknowledged (SDM 10.9); everything else is.
  if (vector != pvops::core::kVectorSpurious) pvops_eoi();
}

extern "C" PVOPS_BOOT_CODE uint32_t pvops_get_counters(pvops_counter* out, uint32_t max) {
  using pvops::core::CounterGroup;
  uint32_t n = 0;
  pvops::core::ForEachCounterGroup([&](const CounterGroup& g) {
    for (uint32_t i = 0; i < g.count && n < max; ++i, ++n)
      out[n] = {g.names[i], __atomic_load_n(&g.values[i], __ATOMIC_RELAXED)};
  });
  return n;
}

extern "C" PVOPS_BOOT_CODE uint64_t pvops_get_counter(const char* name) {
  using pvops::core::CounterGroup;
  uint64_t value = 0;
  if (name == nullptr) return 0;
  pvops::core::ForEachCounterGroup([&](const CounterGroup& g) {
    for (uint32_t i = 0; i < g.count; ++i)
      if (pvops::core::StringsEqual(g.names[i], name))
        value = __atomic_load_n(&g.values[i], __ATOMIC_RELAXED);
  });
  return value;
}
