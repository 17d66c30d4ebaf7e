// The native backend: every op of the table on the real instructions (through arch.h only).
// Like Linux's native_* functions, these are also the building blocks of the paravirtual
// backends: KVM, Hyper-V and VMI keep most of them and replace only what their hypervisor
// does better.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::native {

// The table every backend starts from; pvops_table holds the same values before pvops_init.
extern const pvops_ops kNativeOps;

// Set-up shared by every backend that reuses native pieces, run once on the boot CPU before
// other CPUs start: re-reads the CPU features and the LAPIC mode the native ops cache, forgets
// calibrations, and routes the TLB shootdown vector to its handler.
pvops_status SetUpSharedState();

// Forgets what the native ops cached (CPUID bits, the LAPIC mode, the TSC and LAPIC timer
// calibrations): the next use reads the hardware again. Part of SetUpSharedState; host tests
// call it between cases.
void ForgetCachedState();

// cpu
void Cpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs* out);
uint64_t ReadMsr(uint32_t msr);
void WriteMsr(uint32_t msr, uint64_t value);
pvops_status ReadMsrSafe(uint32_t msr, uint64_t* value);
pvops_status WriteMsrSafe(uint32_t msr, uint64_t value);
void IoDelay();
void Halt();
void SafeHalt();

// irq
uint64_t SaveFlags();
void RestoreFlags(uint64_t flags);
void IrqDisable();
void IrqEnable();
void Eoi();
pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector);
pvops_status TimerOneshot(uint64_t deadline_ns, uint8_t vector);
pvops_status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx);

// mmu
uint64_t ReadCr3();
void WriteCr3(uint64_t cr3);
void SetPte(pvops_pte* ptep, pvops_pte value);
void UpdatePte(pvops_pte* ptep, uint64_t va, pvops_pte value);
pvops_pte ReadPte(const pvops_pte* ptep);
pvops_status AllocPt(uint64_t pfn, uint32_t level);
pvops_status ReleasePt(uint64_t pfn, uint32_t level);
void FlushTlbLocal();
void FlushTlbOne(uint64_t va);
pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end);
pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start, uint64_t end);
void LazyBegin();
void LazyFlush();
void LazyEnd();
uint64_t PhysToMachine(uint64_t phys);
uint64_t MachineToPhys(uint64_t machine);

// time
uint64_t ClockNs();
pvops_status WallClock(pvops_wall_clock* out);
uint64_t TscKhz();
uint64_t StealNs(uint32_t cpu);

// lock
void LockWait(const volatile uint8_t* ptr, uint8_t value);
void LockKick(uint32_t cpu);
int VcpuIsPreempted(uint32_t cpu);

// hypercall
pvops_status Hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, int64_t* result);

// platform
void ConsoleWrite(const char* text, size_t len);
[[noreturn]] void Shutdown(uint32_t code);
pvops_status StartCpu(uint32_t cpu, uint32_t apic_id, const pvops_cpu_start* start);
pvops_status CpuInit(uint32_t cpu);

}  // namespace pvops::native
