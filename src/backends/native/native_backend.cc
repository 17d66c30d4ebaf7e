// The native table and the native backend. pvops_table and kNativeOps come from one constexpr
// function so the live table is constant-initialized: valid before pvops_init, with no static
// constructor in a library that links into kernels.
#include "backends/native/native.h"

#include "backends/native/lapic.h"
#include "backends/native/native_time.h"
#include "backends/native/native_timer.h"
#include "backends/native/tlb.h"
#include "core/backend.h"

namespace pvops::native {
namespace {

constexpr pvops_ops MakeNativeOps() {
  pvops_ops ops{};
  ops.cpu = {Cpuid, ReadMsr, WriteMsr, ReadMsrSafe, WriteMsrSafe, IoDelay, Halt, SafeHalt};
  ops.irq = {SaveFlags, RestoreFlags, IrqDisable,   IrqEnable,
             Eoi,       SendIpi,      TimerOneshot, RegisterHandler};
  ops.mmu = {ReadCr3,       WriteCr3,  SetPte,     UpdatePte,     ReadPte,
             AllocPt,       ReleasePt, FlushTlbLocal, FlushTlbOne, FlushTlbMulti,
             FlushTlbRemote, LazyBegin,     LazyFlush, LazyEnd,    PhysToMachine, MachineToPhys};
  ops.time = {ClockNs, WallClock, TscKhz, StealNs};
  ops.lock = {LockWait, LockKick, VcpuIsPreempted};
  ops.hypercall = {Hypercall};
  ops.platform = {ConsoleWrite, Shutdown, StartCpu, CpuInit};
  return ops;
}

// Native is the fallback, never a candidate that competes: it is always there.
void ProbeNative(const pvops_env&, const core::HvLeaves&, pvops_candidate* out) {
  out->priority = core::kPriorityAbsent;
}

pvops_status InitNative(const pvops_env&, const pvops_candidate&, pvops_ops* ops,
                        pvops_info* info, core::Reason*) {
  // Nothing here can refuse: a machine without a LAPIC still gets a table whose LAPIC ops
  // report PVOPS_ERR_UNSUPPORTED when called.
  (void)SetUpSharedState();
  CalibrateClock();
  *ops = kNativeOps;
  info->version = 0;
  info->features[0] = info->features[1] = info->features[2] = info->features[3] = 0;
  NoteClockCalibration(info);
  return PVOPS_OK;
}

}  // namespace

constinit const pvops_ops kNativeOps = MakeNativeOps();

void ForgetCachedState() {
  Lapic::Forget();
  ForgetTimerState();
  ForgetClockCalibration();
}

pvops_status SetUpSharedState() {
  ForgetCachedState();
  return SetUpTlbShootdown();
}

pvops_status Hypercall(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                       int64_t* result) {
  if (result != nullptr) *result = 0;
  return PVOPS_ERR_UNSUPPORTED;  // no hypervisor to call
}

}  // namespace pvops::native

constinit pvops_ops pvops_table = pvops::native::MakeNativeOps();

namespace pvops::core {
const Backend kNativeBackend = {PVOPS_BACKEND_NATIVE, "native", native::ProbeNative,
                                native::InitNative, {}, nullptr};
}  // namespace pvops::core
