/* SPDX-License-Identifier: MIT */
// Every case function, by group; registry.cc lists them in running order.
#pragma once

#include "suite/framework.h"

namespace guest::suite {

// cases_detect.cc
Result DetectReport();
Result DetectOverride();
// cases_smp.cc
Result SmpBringup();
// cases_cpu.cc
Result CpuCpuid();
Result CpuMsr();
Result CpuMsrSafe();
Result CpuIoDelay();
Result CpuSafeHalt();
// cases_hypercall.cc
Result HypercallNull();
// cases_mmu.cc
Result MmuSetPte();
Result MmuUpdatePteFlushOne();
Result MmuFlushLocal();
Result MmuFlushMulti();
Result MmuWriteCr3();
Result MmuLazyBatch();
Result MmuReleasePt();
Result MmuP2m();
Result MemoryBalloon();
// cases_move.cc
Result MoveSelf();  // move.self: suspend and resume on the same VM
Result MoveHop();   // one hop under a mover (the move mode)
// cases_irq.cc
Result IrqSaveRestore();
Result IrqEoi();
Result IrqIpi();
Result IrqTimerOneshot();
Result IrqTimerCancel();
Result IrqDeliveredOnce();
// cases_time.cc
Result TimeMonotonic();
Result TimeTscRate();
Result TimeReference();
Result TimeWallClock();
Result TimeSteal();
// cases_lock.cc
Result LockWaitKick();
Result LockVcpuIsPreempted();
// cases_console.cc
Result ConsoleWrite();
// cases_debug.cc
Result DebugFaultUnmapped();
Result DebugFaultOnCpu1();
Result DebugTripleFault();
Result DebugHang();

}  // namespace guest::suite
