/* SPDX-License-Identifier: MIT */
// The native backend: the fallback table (core::kNativeOps) assembled from the hardware layer
// (src/hw), plus the few ops that natively have no hardware behind them, declared here.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "backends/native/native_backend.h"

namespace pvops::native {

[[nodiscard]] pvops_status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx);

[[nodiscard]] pvops_status AllocPt(uint64_t pfn, uint32_t level);
[[nodiscard]] pvops_status ReleasePt(uint64_t pfn, uint32_t level);
[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start, uint64_t end);
void LazyBegin();
void LazyFlush();
void LazyEnd();
uint64_t PhysToMachine(uint64_t phys);
uint64_t MachineToPhys(uint64_t machine);

uint64_t StealNs(uint32_t cpu);

void LockWait(const volatile uint8_t* ptr, uint8_t value);
void LockKick(uint32_t cpu);
int VcpuIsPreempted(uint32_t cpu);

[[nodiscard]] pvops_status Hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                     uint64_t a3, uint64_t a4, int64_t* result);

}  // namespace pvops::native
