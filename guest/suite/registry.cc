// SPDX-License-Identifier: MIT
// The suite's one list, the same on every environment. Names are the runner's stable keys.
#include "suite/cases.h"

namespace guest::suite {

// Declared extern in framework.h, so these constexpr definitions keep external linkage.
constexpr Case kCases[] = {
    {"detect.report", DetectReport},
    {"detect.override", DetectOverride},
    {"smp.bringup", SmpBringup},
    {"cpu.cpuid", CpuCpuid},
    {"cpu.msr", CpuMsr},
    {"cpu.msr_safe", CpuMsrSafe},
    {"cpu.io_delay", CpuIoDelay},
    {"cpu.safe_halt", CpuSafeHalt},
    {"hypercall.null", HypercallNull},
    {"mmu.set_pte", MmuSetPte},
    {"mmu.update_pte_flush_one", MmuUpdatePteFlushOne},
    {"mmu.flush_local", MmuFlushLocal},
    {"mmu.flush_multi", MmuFlushMulti},
    {"mmu.write_cr3", MmuWriteCr3},
    {"mmu.lazy_batch", MmuLazyBatch},
    {"mmu.release_pt", MmuReleasePt},
    {"mmu.p2m", MmuP2m},
    {"memory.balloon", MemoryBalloon},
    {"irq.save_restore", IrqSaveRestore},
    {"irq.eoi", IrqEoi},
    {"irq.delivered_once", IrqDeliveredOnce},
    {"irq.ipi", IrqIpi},
    {"irq.timer_oneshot", IrqTimerOneshot},
    {"irq.timer_cancel", IrqTimerCancel},
    {"time.monotonic", TimeMonotonic},
    {"time.tsc_rate", TimeTscRate},
    {"time.reference", TimeReference},
    {"time.wall_clock", TimeWallClock},
    {"time.steal", TimeSteal},
    {"lock.wait_kick", LockWaitKick},
    {"lock.vcpu_is_preempted", LockVcpuIsPreempted},
    {"console.write", ConsoleWrite},
    {"move.self", MoveSelf},
    {"debug.fault_unmapped", DebugFaultUnmapped},
    {"debug.fault_on_cpu1", DebugFaultOnCpu1},
    {"debug.triple_fault", DebugTripleFault},
    {"debug.hang", DebugHang},
};

constexpr size_t kCaseCount = sizeof(kCases) / sizeof(kCases[0]);

}  // namespace guest::suite
