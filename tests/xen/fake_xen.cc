// SPDX-License-Identifier: MIT
#include "fake_xen.h"

#include <stdlib.h>
#include <string.h>

#include <xen/errno.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/physdev.h>
#include <xen/version.h>

namespace pvops::test {
namespace {

constexpr uint64_t kPtePresent = 1, kPteUser = 4;

// The page is declared const for the kernel (only Xen writes it); here the test plays Xen. The
// asm hides the object's const-ness from the optimizer, which may drop stores to const objects.
unsigned char* HypercallPage() {
  const unsigned char* page = pvops_xen_hypercall_page;
  asm("" : "+r"(page));
  return const_cast<unsigned char*>(page);
}

template <typename T>
T* Ptr(uint64_t address) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(address));
}

// One guest memory for every fixture of the process, cleared by each: a fresh allocation of this
// size is a fresh mapping, and faulting its pages in was most of a fuzz input's time.
uint8_t* SharedGuestMemory() {
  static uint8_t* const memory = static_cast<uint8_t*>(aligned_alloc(4096, kGuestPages * 4096));
  return memory;
}

}  // namespace

XenPvTest::XenPvTest() {
  memory_ = SharedGuestMemory();
  memset(memory_, 0, kGuestPages * 4096);
  sim_.MapPhys(0, memory_, kGuestPages * 4096);
  memset(HypercallPage(), 0xcc, 4096);
  xen::ResetEntryPoints();
  xen::ResetAliasWindows();

  m2p_.assign(kMaxMfn + 1, ~xen_ulong_t{0});
  for (uint64_t pfn = 0; pfn < kGuestPages; ++pfn) {
    P2m()[pfn] = MfnOf(pfn);
    m2p_[MfnOf(pfn)] = pfn;
  }
  machphys_.v_start = reinterpret_cast<uintptr_t>(m2p_.data());
  machphys_.v_end = machphys_.v_start + m2p_.size() * sizeof(xen_ulong_t);
  machphys_.max_mfn = kMaxMfn;
  saved_area_ = xen::g_xen_area;
  xen::g_xen_area = {machphys_.v_start, machphys_.v_end};

  start_info& si = StartInfo();
  strcpy(si.magic, "xen-3.0-x86_64");
  si.nr_pages = kGuestPages;
  si.shared_info = kSharedInfoMfn << 12;
  si.flags = SIF_PRIVILEGED | SIF_INITDOMAIN;
  si.pt_base = reinterpret_cast<uintptr_t>(Page(kRootPfn));
  si.nr_pt_frames = kPtFrames;
  si.mfn_list = reinterpret_cast<uintptr_t>(P2m());
  // Xen's emulated CR3 read gives the machine address of the current top-level table.
  sim_.SetCr3(MfnOf(kRootPfn) << 12);

  for (uint32_t v = 0; v < XEN_LEGACY_MAX_VCPUS; ++v) {
    vcpu_info& vi = shared_template_.vcpu_info[v];
    vi.evtchn_upcall_mask = 1;
    // A 2 GHz TSC: system time = tsc / 2. TSC_STABLE keeps the core's cross-CPU clamp out.
    vi.time.version = 2;
    vi.time.tsc_timestamp = 0;
    vi.time.system_time = 0;
    vi.time.tsc_to_system_mul = 1u << 31;
    vi.time.tsc_shift = 0;
    vi.time.flags = XEN_PVCLOCK_TSC_STABLE_BIT;
  }
  shared_template_.wc_version = 2;
  shared_template_.wc_sec = 1'700'000'000;
  shared_template_.wc_nsec = 5;

  sim_.SetStubHandler([this](const void* stub, arch::HypercallRegs& regs) {
    const auto offset = static_cast<const unsigned char*>(stub) - pvops_xen_hypercall_page;
    ASSERT_TRUE(offset >= 0 && offset < 4096 && offset % 32 == 0) << "not a stub: " << offset;
    XenCall call{sim_.current_cpu(),
                 static_cast<uint32_t>(offset / 32),
                 {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8},
                 false};
    regs.rax = static_cast<uint64_t>(Dispatch(call, regs));
  });
  // HVM without the page: vmcall / vmmcall with the number in rax.
  for (const auto insn : {arch::HypercallInsn::kVmcall, arch::HypercallInsn::kVmmcall}) {
    sim_.SetHypercallHandler(insn, [this](arch::HypercallRegs& regs) {
      XenCall call{sim_.current_cpu(),
                   static_cast<uint32_t>(regs.rax),
                   {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8},
                   false};
      regs.rax = static_cast<uint64_t>(Dispatch(call, regs));
    });
  }
}

XenPvTest::~XenPvTest() {
  xen::g_xen_area = saved_area_;
  memset(HypercallPage(), 0xcc, 4096);
  xen::ResetEntryPoints();
  xen::ResetAliasWindows();
}

void XenPvTest::FillPvStubs() {
  // Xen's pv_ring3_init_hypercall_page: push %rcx; push %r11; mov $nr,%eax; syscall; ...
  for (uint32_t nr = 0; nr < 128; ++nr) {
    unsigned char* p = HypercallPage() + nr * 32;
    const unsigned char stub[14] = {0x51, 0x41, 0x53, 0xb8, static_cast<unsigned char>(nr),
                                    0,    0,    0,    0x0f, 0x05,
                                    0x41, 0x5b, 0x59, 0xc3};
    memcpy(p, stub, sizeof(stub));
  }
}

pvops_status XenPvTest::BootPv(const char* cmdline) {
  if (fill_page_) FillPvStubs();
  pv_env_ = sim::MakeEnv(cmdline, PVOPS_ENTRY_XEN_PV, &StartInfo());
  return pvops_init(&pv_env_);
}

void XenPvTest::OnlinePvCpus(uint32_t count) {
  for (uint32_t cpu = 1; cpu < count; ++cpu) ASSERT_EQ(OnlineCpu(cpu), PVOPS_OK);
}

shared_info& XenPvTest::Shared() {
  return shared_mapped_ != nullptr ? *shared_mapped_ : shared_template_;
}

void XenPvTest::RaiseEvent(uint32_t port) {
  shared_info& s = Shared();
  const xen_ulong_t bit = xen_ulong_t{1} << (port % 64);
  if ((__atomic_fetch_or(&s.evtchn_pending[port / 64], bit, __ATOMIC_SEQ_CST) & bit) != 0) return;
  if ((s.evtchn_mask[port / 64] & bit) != 0) return;
  vcpu_info& v = Vcpu(ports_.at(port).vcpu);
  __atomic_fetch_or(&v.evtchn_pending_sel, xen_ulong_t{1} << (port / 64), __ATOMIC_SEQ_CST);
  v.evtchn_upcall_pending = 1;
}

void XenPvTest::DeliverUpcalls(uint32_t cpu) {
  if (shared_mapped_ == nullptr || upcall_depth_ > 0) return;
  vcpu_info& v = Vcpu(cpu);
  if (hvm_) {
    // HVM: the callback vector, injected while upcall_pending is set and IF allows it.
    if (v.evtchn_upcall_pending == 0 || !sim_.interrupts_enabled_on(cpu)) return;
    ++upcall_depth_;
    sim_.RunOnCpu(cpu, [] { pvops_handle_interrupt(PVOPS_XEN_HVM_CALLBACK_VECTOR); });
    --upcall_depth_;
    return;
  }
  if (v.evtchn_upcall_pending == 0 || v.evtchn_upcall_mask != 0) return;
  ++upcall_depth_;
  // Xen masks events while the callback runs; the guest's iret restores the mask.
  sim_.RunOnCpu(cpu, [&] {
    v.evtchn_upcall_mask = 1;
    pvops_xen_event_upcall();
    v.evtchn_upcall_mask = 0;
  });
  --upcall_depth_;
}

std::vector<XenCall> XenPvTest::CallsTo(uint32_t nr) const {
  std::vector<XenCall> out;
  for (const XenCall& c : calls_)
    if (c.nr == nr) out.push_back(c);
  return out;
}

uint64_t XenPvTest::EntriesIntoXen() const {
  uint64_t n = 0;
  for (const XenCall& c : calls_) n += c.in_multicall ? 0 : 1;
  return n;
}

void XenPvTest::ClearRecords() {
  calls_.clear();
  mmu_updates_.clear();
  mmuext_.clear();
  va_mappings_.clear();
  multicalls_.clear();
  sent_ports_.clear();
  unmask_calls_.clear();
  singleshots_.clear();
  singleshot_stops_.clear();
  periodic_stops_.clear();
  polls_.clear();
  poll_first_port_.clear();
  blocks_.clear();
  console_.clear();
}

uint32_t XenPvTest::PortOf(FakePort::Kind kind, uint32_t vcpu, uint32_t virq) const {
  for (const auto& [port, p] : ports_)
    if (p.kind == kind && p.vcpu == vcpu && (kind != FakePort::kVirq || p.virq == virq))
      return port;
  return 0;
}

int64_t XenPvTest::Dispatch(XenCall& call, arch::HypercallRegs&) {
  calls_.push_back(call);
  if (answer_) {
    const int64_t answer = answer_(call);
    if (answer != kFallThrough) return answer;
  }
  int64_t rc = -XEN_ENOSYS;
  const uint64_t* a = call.args;
  switch (call.nr) {
    case __HYPERVISOR_xen_version:
      if (a[0] == XENVER_version) rc = kXenVersion;
      if (a[0] == XENVER_get_features) {
        auto* fi = Ptr<xen_feature_info>(a[1]);
        fi->submap = fi->submap_idx == 0 ? features_ : 0;
        rc = 0;
      }
      break;
    case __HYPERVISOR_console_io:
      if (a[0] == CONSOLEIO_write) {
        console_.append(Ptr<const char>(a[2]), a[1]);
        rc = 0;
      }
      break;
    case __HYPERVISOR_mmu_update: rc = MmuUpdate(call); break;
    case __HYPERVISOR_mmuext_op: rc = Mmuext(call); break;
    case __HYPERVISOR_update_va_mapping: {
      va_mappings_.push_back({a[0], a[1], a[2]});
      const uint64_t frame = (a[1] & 0x000ffffffffff000) >> 12;
      if (frame == kSharedInfoMfn) {
        shared_mapped_ = Ptr<shared_info>(a[0]);
        memcpy(shared_mapped_, &shared_template_, sizeof(shared_info));
      }
      rc = 0;
      break;
    }
    case __HYPERVISOR_multicall: rc = Multicall(call); break;
    case __HYPERVISOR_event_channel_op: rc = EventOp(call); break;
    case __HYPERVISOR_vcpu_op: rc = VcpuOp(call); break;
    case __HYPERVISOR_sched_op: rc = SchedOp(call); break;
    case __HYPERVISOR_memory_op: rc = MemoryOp(call); break;
    case __HYPERVISOR_vm_assist: rc = 0; break;
    // Recorded in calls_; a PV guest may make each of these.
    case __HYPERVISOR_update_descriptor:
    case __HYPERVISOR_stack_switch:
    case __HYPERVISOR_fpu_taskswitch: rc = 0; break;
    case __HYPERVISOR_set_trap_table:
      trap_tables_.push_back(a[0]);
      rc = 0;
      break;
    case __HYPERVISOR_callback_op:
      if (a[0] == CALLBACKOP_register) {
        callbacks_.push_back(*Ptr<callback_register>(a[1]));
        rc = 0;
      }
      break;
    case __HYPERVISOR_physdev_op:
      if (a[0] == PHYSDEVOP_set_iopl) {
        iopl_.push_back(Ptr<physdev_set_iopl>(a[1])->iopl);
        rc = 0;
      }
      break;
    case __HYPERVISOR_hvm_op:
      if (a[0] == HVMOP_set_param) {
        const auto* param = Ptr<xen_hvm_param>(a[1]);
        hvm_params_.push_back({param->index, param->value});
        rc = 0;
      }
      break;
  }
  // Xen checks for events on its way back to the guest.
  if (!call.in_multicall) DeliverUpcalls(call.cpu);
  return rc;
}

int64_t XenPvTest::MmuUpdate(const XenCall& call) {
  const auto* reqs = Ptr<const mmu_update_t>(call.args[0]);
  for (uint64_t i = 0; i < call.args[1]; ++i) {
    const uint64_t ptr = reqs[i].ptr;
    uint64_t val = reqs[i].val;
    mmu_updates_.push_back({ptr, val});
    if ((ptr & 7) != MMU_NORMAL_PT_UPDATE || call.args[3] != DOMID_SELF) return -XEN_EINVAL;
    const uint64_t mfn = ptr >> 12;
    if (mfn > kMaxMfn || m2p_[mfn] >= kGuestPages) return -XEN_EINVAL;
    // Xen's adjust_guest_l1e / l2e..l4e for a 64-bit PV kernel.
    if (const auto pin = pinned_.find(mfn); pin != pinned_.end() && (val & kPtePresent) != 0) {
      if (pin->second == 1 && (val & kPteUser) == 0) val |= kPteUser | kPteXenGuestKernel;
      if (pin->second > 1) val |= kPteUser;
    }
    *reinterpret_cast<uint64_t*>(Page(m2p_[mfn]) + (ptr & 0xff8)) = val;
  }
  return 0;
}

int64_t XenPvTest::Mmuext(const XenCall& call) {
  const auto* ops = Ptr<const mmuext_op_t>(call.args[0]);
  for (uint64_t i = 0; i < call.args[1]; ++i) {
    const mmuext_op_t& op = ops[i];
    uint64_t mask = 0;
    if (op.cmd == MMUEXT_TLB_FLUSH_MULTI || op.cmd == MMUEXT_INVLPG_MULTI)
      mask = *static_cast<const xen_ulong_t*>(op.arg2.vcpumask.p);
    mmuext_.push_back({op.cmd, op.arg1.mfn, mask, call.in_multicall});
    switch (op.cmd) {
      case MMUEXT_PIN_L1_TABLE:
      case MMUEXT_PIN_L2_TABLE:
      case MMUEXT_PIN_L3_TABLE:
      case MMUEXT_PIN_L4_TABLE:
        if (pinned_.count(op.arg1.mfn) != 0) return -XEN_EINVAL;
        pinned_[op.arg1.mfn] = op.cmd - MMUEXT_PIN_L1_TABLE + 1;
        break;
      case MMUEXT_UNPIN_TABLE:
        if (pinned_.erase(op.arg1.mfn) == 0) return -XEN_EINVAL;
        break;
      case MMUEXT_NEW_BASEPTR: sim_.SetCr3(op.arg1.mfn << 12); break;
    }
  }
  return 0;
}

int64_t XenPvTest::Multicall(const XenCall& call) {
  auto* entries = Ptr<multicall_entry_t>(call.args[0]);
  std::vector<multicall_entry_t> batch(entries, entries + call.args[1]);
  for (multicall_entry_t& e : batch) {
    XenCall inner{call.cpu,
                  static_cast<uint32_t>(e.op),
                  {e.args[0], e.args[1], e.args[2], e.args[3], e.args[4]},
                  true};
    arch::HypercallRegs regs{};
    e.result = static_cast<xen_ulong_t>(Dispatch(inner, regs));
  }
  for (uint64_t i = 0; i < batch.size(); ++i) entries[i].result = batch[i].result;
  multicalls_.push_back(batch);
  return 0;
}

int64_t XenPvTest::EventOp(const XenCall& call) {
  void* arg = Ptr<void>(call.args[1]);
  switch (call.args[0]) {
    case EVTCHNOP_bind_virq: {
      auto* op = static_cast<evtchn_bind_virq*>(arg);
      op->port = next_port_++;
      ports_[op->port] = {FakePort::kVirq, op->vcpu, op->virq};
      return 0;
    }
    case EVTCHNOP_bind_ipi: {
      auto* op = static_cast<evtchn_bind_ipi*>(arg);
      op->port = next_port_++;
      ports_[op->port] = {FakePort::kIpi, op->vcpu, 0};
      return 0;
    }
    case EVTCHNOP_send: {
      const uint32_t port = static_cast<evtchn_send*>(arg)->port;
      if (ports_.count(port) == 0) return -XEN_EINVAL;
      sent_ports_.push_back(port);
      RaiseEvent(port);
      return 0;
    }
    case EVTCHNOP_unmask: {
      const uint32_t port = static_cast<evtchn_unmask*>(arg)->port;
      unmask_calls_.push_back(port);
      shared_info& s = Shared();
      const xen_ulong_t bit = xen_ulong_t{1} << (port % 64);
      if ((s.evtchn_pending[port / 64] & bit) != 0 && ports_.count(port) != 0) {
        vcpu_info& v = Vcpu(ports_.at(port).vcpu);
        v.evtchn_pending_sel |= xen_ulong_t{1} << (port / 64);
        v.evtchn_upcall_pending = 1;
      }
      return 0;
    }
    case EVTCHNOP_close: ports_.erase(static_cast<evtchn_close*>(arg)->port); return 0;
  }
  return -XEN_ENOSYS;
}

int64_t XenPvTest::VcpuOp(const XenCall& call) {
  const auto vcpu = static_cast<uint32_t>(call.args[1]);
  if (vcpu >= XEN_LEGACY_MAX_VCPUS) return -XEN_ENOENT;
  switch (call.args[0]) {
    case VCPUOP_stop_periodic_timer: periodic_stops_.push_back(vcpu); return 0;
    case VCPUOP_set_singleshot_timer:
      singleshots_.push_back({vcpu, Ptr<vcpu_set_singleshot_timer>(call.args[2])->timeout_abs_ns});
      return 0;
    case VCPUOP_stop_singleshot_timer: singleshot_stops_.push_back(vcpu); return 0;
    case VCPUOP_register_runstate_memory_area:
      runstate_areas_[vcpu] = Ptr<vcpu_register_runstate_memory_area>(call.args[2])->addr.p;
      return 0;
    case VCPUOP_initialise:
      if (hvm_)
        hvm_contexts_.push_back(*Ptr<vcpu_hvm_context>(call.args[2]));
      else
        vcpu_contexts_.push_back({vcpu, *Ptr<vcpu_guest_context>(call.args[2])});
      return 0;
    case VCPUOP_up: vcpus_up_.push_back(vcpu); return 0;
  }
  return -XEN_ENOSYS;
}

int64_t XenPvTest::SchedOp(const XenCall& call) {
  switch (call.args[0]) {
    case SCHEDOP_poll: {
      const sched_poll poll = *Ptr<sched_poll>(call.args[1]);
      polls_.push_back(poll);
      poll_first_port_.push_back(poll.nr_ports > 0 ? *poll.ports.p : 0);
      return 0;
    }
    case SCHEDOP_block: blocks_.push_back(call.cpu); return 0;
    case SCHEDOP_shutdown: {
      const uint32_t reason = Ptr<sched_shutdown>(call.args[1])->reason;
      shutdowns_.push_back(reason);
      if (on_shutdown_) on_shutdown_(reason);
      return 0;
    }
  }
  return -XEN_ENOSYS;
}

int64_t XenPvTest::MemoryOp(const XenCall& call) {
  switch (call.args[0]) {
    case XENMEM_machphys_mapping: *Ptr<xen_machphys_mapping>(call.args[1]) = machphys_; return 0;
    case XENMEM_add_to_physmap: {
      const auto* add = Ptr<xen_add_to_physmap>(call.args[1]);
      if (add->space != XENMAPSPACE_shared_info || add->domid != DOMID_SELF) return -XEN_EINVAL;
      physmap_gpfns_.push_back(add->gpfn);
      // The guest-physical page now shows shared_info (the library's page is host memory that
      // the simulated machine maps 1:1).
      void* page = sim_.PhysToVirt(add->gpfn << 12);
      shared_mapped_ =
          page != nullptr ? static_cast<shared_info*>(page) : Ptr<shared_info>(add->gpfn << 12);
      memcpy(shared_mapped_, &shared_template_, sizeof(shared_info));
      return 0;
    }
    case XENMEM_current_reservation:
      return *Ptr<domid_t>(call.args[1]) == DOMID_SELF ? static_cast<int64_t>(reservation_)
                                                       : -XEN_EINVAL;
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap: {
      const auto* r = Ptr<xen_memory_reservation>(call.args[1]);
      if (r->domid != DOMID_SELF || r->extent_order != 0) return -XEN_EINVAL;
      xen_pfn_t* list = r->extent_start.p;
      const bool give = call.args[0] == XENMEM_decrease_reservation;
      uint64_t done = 0;
      for (; done < r->nr_extents && done < extents_allowed_; ++done) {
        if (give) {
          // PV: a machine frame of the guest's; it is Xen's again.
          const uint64_t mfn = list[done];
          if (hvm_) {
            released_.push_back(mfn);
          } else {
            if (mfn > kMaxMfn || m2p_[mfn] >= kGuestPages) break;
            m2p_[mfn] = ~xen_ulong_t{0};
            released_.push_back(mfn);
          }
          --reservation_;
        } else {
          // PV: a fresh machine frame for the pfn, written over the entry; the m2p updated.
          const uint64_t pfn = list[done];
          if (!hvm_) {
            const uint64_t mfn = next_free_mfn_++;
            m2p_[mfn] = pfn;
            list[done] = mfn;
          }
          populated_.push_back(pfn);
          ++reservation_;
        }
      }
      return static_cast<int64_t>(done);
    }
  }
  return -XEN_ENOSYS;
}

}  // namespace pvops::test
