// State the core keeps for every backend: the kernel's environment, per-CPU facts, interrupt
// handlers and counters. Backends read it; only the core writes the environment.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::core {

// The kernel's environment as given to pvops_init (zeroed callbacks replaced by safe defaults).
void InstallEnv(const pvops_env& env);
const pvops_env& Env();
uint32_t ThisCpu();
uint64_t VirtToPhys(const void* va);
// PVOPS_ENV_KERNEL_OWNS_APIC: the library leaves TPR, the spurious vector and the LVT alone.
bool KernelOwnsApic();
void* PhysToVirt(uint64_t pa);  // nullptr when unmapped

// Per-CPU facts the backends share. Indexed by logical CPU.
struct PerCpu {
  uint32_t apic_id;
  uint32_t online;  // set by pvops_cpu_online
  // The one-shot timer armed on this CPU (core/oneshot.h): 0 = none.
  uint64_t oneshot_deadline;
  uint32_t oneshot_early;  // early interrupts since it was armed
  uint8_t oneshot_vector;
};
PerCpu& Cpu(uint32_t cpu);
uint32_t OnlineCpuCount();

// Vectors the library itself uses; the kernel routes them to pvops_handle_interrupt.
inline constexpr uint8_t kVectorTlbFlush = 0xfd;
inline constexpr uint8_t kVectorSpurious = 0xff;

struct IrqHandler {
  pvops_irq_handler fn;
  void* ctx;
};
pvops_status SetIrqHandler(uint8_t vector, pvops_irq_handler fn, void* ctx);
IrqHandler GetIrqHandler(uint8_t vector);

// Counters: what the backends did (hypercalls issued, exits avoided). Names are static strings.
enum class Counter : uint32_t {
  kHypercalls,
  kIpisSent,
  kIpiHypercalls,
  kTlbFlushRemote,
  kTlbFlushHypercalls,
  kTlbFlushPreemptedSkipped,
  kTlbFlushRemoteCalls,  // a kernel's remote flush that asked the hypervisor (flush_tlb_remote)
  kPvEoiFast,
  kPvEoiSlow,
  kPteUpdates,
  kLazyBatches,
  kLazyBatchedUpdates,
  kLockWaits,
  kLockKicks,
  kTimerArms,
  kTimerEarlyRearms,  // a one-shot interrupt came before clock_ns reached its deadline
  kClockReads,
  kClockRetries,
  kEventUpcalls,     // Xen: event-channel upcalls taken (PV callback or HVM vector)
  kXenUpdateErrors,  // Xen: page-table updates or flushes Xen refused (incl. inside a batch)
  kTscPageReads,        // Hyper-V: clock read from the reference TSC page (no exit)
  kRefCounterMsrReads,  // Hyper-V: clock read from HV_X64_MSR_TIME_REF_COUNT (an exit)
  kSpinWaitNotifies,    // Hyper-V: HvCallNotifyLongSpinWait issued
  kVmiRomCalls,         // VMI: calls into the VMI ROM's entry points
  kBackdoorCalls,       // VMI: VMware backdoor calls (port 0x5658, vmcall or vmmcall)
  kCount
};
void Count(Counter c, uint64_t n = 1);
uint64_t CounterValue(Counter c);

// Host tests only: forget CPUs, handlers and counters between cases.
void ResetForTest();

}  // namespace pvops::core
