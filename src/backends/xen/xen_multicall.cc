// SPDX-License-Identifier: MIT
// Lazy MMU mode on Xen PV: page-table updates and local flushes made between lazy_begin and
// lazy_flush / lazy_end are queued per CPU and issued as one HYPERVISOR_multicall, so a batch of
// N updates costs one entry into Xen instead of N (Linux's xen_mc_* batching, arch/x86/xen).
// Outside lazy mode every update is its own hypercall, as the caller expects it applied at once.
#include "backends/xen/xen.h"

namespace pvops::xen {
namespace {

Batch& ThisBatch() { return ThisPart().batch; }

// Queueing runs with this CPU's events masked, so a handler that updates a PTE in between
// cannot see a half-written entry.
class EventsMasked {
 public:
  EventsMasked() : flags_(PvSaveFlags()) { PvIrqDisable(); }
  ~EventsMasked() { PvRestoreFlags(flags_); }
  EventsMasked(const EventsMasked&) = delete;
  EventsMasked& operator=(const EventsMasked&) = delete;

 private:
  uint64_t flags_;
};

[[nodiscard]] pvops_status Issue(Batch& batch) {
  if (batch.count == 0) return PVOPS_OK;
  const uint32_t count = batch.count;
  const uint32_t updates = batch.updates;
  batch.count = 0;
  batch.updates = 0;
  core::Count(core::Counter::kLazyBatches);
  core::Count(core::Counter::kLazyBatchedUpdates, updates);
  return Multicall(batch.calls, count);
}

// Appends one entry; the caller fills it. Issues a full batch first.
multicall_entry_t& Append(Batch& batch, Batch::Request** request, bool is_update) {
  if (batch.count == kBatchCapacity) (void)Issue(batch);
  const uint32_t i = batch.count++;
  batch.updates += is_update ? 1 : 0;
  batch.calls[i] = multicall_entry_t{};
  if (request != nullptr) *request = &batch.requests[i];
  return batch.calls[i];
}

[[nodiscard]] pvops_status Checked(int64_t rc) {
  if (rc < 0) kCounters.Count(Counter::kUpdateErrors);
  return StatusFromXen(rc);
}

}  // namespace

[[nodiscard]] pvops_status SubmitMmuUpdate(uint64_t pte_machine_address, pvops_pte machine_value) {
  if (ThisCpu().lazy == 0) {
    mmu_update_t update{pte_machine_address | MMU_NORMAL_PT_UPDATE, machine_value};
    return Checked(Hypercall(__HYPERVISOR_mmu_update, Arg(&update), 1, 0, DOMID_SELF));
  }
  EventsMasked masked;
  Batch& batch = ThisBatch();
  Batch::Request* request;
  multicall_entry_t& call = Append(batch, &request, true);
  request->update = mmu_update_t{pte_machine_address | MMU_NORMAL_PT_UPDATE, machine_value};
  call.op = __HYPERVISOR_mmu_update;
  call.args[0] = Arg(&request->update);
  call.args[1] = 1;
  call.args[2] = 0;
  call.args[3] = DOMID_SELF;
  return PVOPS_OK;
}

[[nodiscard]] pvops_status SubmitMmuext(const mmuext_op& op) {
  if (ThisCpu().lazy == 0) {
    mmuext_op_t copy = op;
    return Checked(Hypercall(__HYPERVISOR_mmuext_op, Arg(&copy), 1, 0, DOMID_SELF));
  }
  EventsMasked masked;
  Batch& batch = ThisBatch();
  Batch::Request* request;
  multicall_entry_t& call = Append(batch, &request, false);
  request->ext = op;
  call.op = __HYPERVISOR_mmuext_op;
  call.args[0] = Arg(&request->ext);
  call.args[1] = 1;
  call.args[2] = 0;
  call.args[3] = DOMID_SELF;
  return PVOPS_OK;
}

[[nodiscard]] pvops_status SubmitUpdateVaMapping(uint64_t va, pvops_pte machine_value,
                                                 uint64_t flags) {
  if (ThisCpu().lazy == 0)
    return Checked(Hypercall(__HYPERVISOR_update_va_mapping, va, machine_value, flags));
  EventsMasked masked;
  Batch& batch = ThisBatch();
  multicall_entry_t& call = Append(batch, nullptr, true);
  call.op = __HYPERVISOR_update_va_mapping;
  call.args[0] = va;
  call.args[1] = machine_value;
  call.args[2] = flags;
  return PVOPS_OK;
}

[[nodiscard]] pvops_status Multicall(multicall_entry_t* calls, uint32_t count) {
  if (count == 0) return PVOPS_OK;
  const int64_t rc = Hypercall(__HYPERVISOR_multicall, Arg(calls), count);
  if (rc < 0) {
    kCounters.Count(Counter::kUpdateErrors, count);
    return StatusFromXen(rc);
  }
  pvops_status first = PVOPS_OK;
  for (uint32_t i = 0; i < count; ++i) {
    const int64_t result = static_cast<int64_t>(calls[i].result);
    if (result >= 0) continue;
    kCounters.Count(Counter::kUpdateErrors);
    if (first == PVOPS_OK) first = StatusFromXen(result);
  }
  return first;
}

[[nodiscard]] pvops_status FlushBatch() {
  if (!IsPv()) return PVOPS_OK;
  EventsMasked masked;
  return Issue(ThisBatch());
}

void LazyBegin() {
  PerCpu& cpu = ThisCpu();
  if (cpu.lazy < 0xff) ++cpu.lazy;
}

void LazyFlush() { (void)FlushBatch(); }

void LazyEnd() {
  (void)FlushBatch();
  PerCpu& cpu = ThisCpu();
  if (cpu.lazy > 0) --cpu.lazy;
}

// Init runs before other CPUs have their areas: the boot CPU's batch is the only one.
void ResetBatches() {
  Batch& batch = Part(0)->batch;
  batch.count = 0;
  batch.updates = 0;
}

}  // namespace pvops::xen
