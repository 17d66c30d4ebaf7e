// SPDX-License-Identifier: MIT
// The native table and the native backend. pvops_table and kNativeOps come from one constexpr
// function so the live table is constant-initialized: valid before pvops_init, with no static
// constructor in a library that links into kernels.
#include "backends/native/native.h"
#include "core/backend.h"
#include "hw/cmos_rtc.h"
#include "hw/console_and_exit.h"
#include "hw/cpu_instructions.h"
#include "hw/lapic.h"
#include "hw/lapic_timer.h"
#include "hw/paging.h"
#include "hw/tsc.h"

namespace pvops::native {
namespace {

constexpr pvops_ops MakeNativeOps() {
  pvops_ops ops{};
  ops.cpu = {hw::Cpuid,        hw::ReadMsr, hw::WriteMsr, hw::ReadMsrSafe,
             hw::WriteMsrSafe, hw::IoDelay, hw::Halt,     hw::SafeHalt};
  ops.irq = {hw::SaveFlags, hw::RestoreFlags, hw::IrqDisable,        hw::IrqEnable,
             hw::LapicEoi,  hw::LapicSendIpi, hw::LapicTimerOneshot, RegisterHandler};
  ops.mmu = {hw::ReadCr3,     hw::WriteCr3,      hw::SetPte,     hw::UpdatePte,
             hw::ReadPte,     AllocPt,           ReleasePt,      hw::FlushTlbLocal,
             hw::FlushTlbOne, hw::FlushTlbMulti, FlushTlbRemote, LazyBegin,
             LazyFlush,       LazyEnd,           PhysToMachine,  MachineToPhys};
  ops.time = {hw::TscClockNs, hw::CmosRtcWallClock, hw::TscKhz, StealNs};
  ops.lock = {LockWait, LockKick, VcpuIsPreempted};
  ops.hypercall = {Hypercall};
  ops.platform = {hw::Com1Write, hw::DebugExitShutdown, hw::StartCpuBySipi, hw::LapicCpuInit};
  ops.kernel = {hw::LoadIdt,
                hw::LoadGdt,
                hw::LoadTr,
                hw::ReadCr2,
                hw::pvops_native_interrupt_return,
                hw::WriteGdtEntry,
                hw::LoadTls,
                hw::SetKernelStack,
                hw::WriteCr0,
                hw::WriteCr4,
                hw::ReadTpr,
                hw::WriteTpr};
  return ops;
}

}  // namespace

// Native is the fallback, never a candidate that competes: it is always there.
void Probe(const pvops_env&, const core::HvLeaves&, pvops_candidate* out) {
  out->priority = core::kPriorityAbsent;
}

[[nodiscard]] pvops_status Init(const pvops_env&, const pvops_candidate&, pvops_ops*,
                                core::BackendReport* report, core::Reason*) {
  // Nothing here can refuse: a machine without a LAPIC still gets a table whose LAPIC ops
  // report PVOPS_ERR_UNSUPPORTED when called.
  hw::CalibrateClock();
  hw::NoteClockCalibration(report);
  return PVOPS_OK;
}

}  // namespace pvops::native

constinit pvops_ops pvops_table = pvops::native::MakeNativeOps();

namespace pvops::core {
constinit const pvops_ops kNativeOps = native::MakeNativeOps();
}  // namespace pvops::core
