/* SPDX-License-Identifier: MIT */
// A simulated Xen for the Xen backend's host tests: a small PV domain (guest memory, a p2m that
// scatters its frames over machine memory, the m2p table, start_info, shared_info, the hypercall
// page) and a hypervisor that records every hypercall, applies page-table writes to guest memory
// and raises events the way Xen's 2-level event channels do. It follows Xen's public headers;
// what the real Xen 4.17 answers is the `xen` environment's job, not this file's.
#pragma once

#include <stdint.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backends/xen/xen.h"
#include "bare_metal_machine.h"
// After xen.h (it pins the interface version).
#include <xen/callback.h>
#include <xen/features.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/memory.h>
#include <xen/sched.h>

namespace pvops::test {

inline constexpr uint32_t kXenVersion = 0x00040011;  // 4.17
inline constexpr uint64_t kGuestPages = 64;
// The bootstrap layout (xen.h, start of day): image pages, p2m, start_info, page tables.
inline constexpr uint64_t kP2mPfn = 8;
inline constexpr uint64_t kStartInfoPfn = 9;
inline constexpr uint64_t kRootPfn = 10;  // pt_base: L4, then L3, L2, L1
inline constexpr uint64_t kPtFrames = 4;
inline constexpr uint64_t kFirstFreePfn = kRootPfn + kPtFrames;
inline constexpr uint64_t kMaxMfn = 0xfff;
inline constexpr uint64_t kSharedInfoMfn = 0xabc;
// pfn N lives at machine frame 0x400 + 7N: neither identity nor contiguous.
inline constexpr uint64_t MfnOf(uint64_t pfn) { return 0x400 + 7 * pfn; }
inline constexpr uint64_t kPteXenGuestKernel = uint64_t{1} << 52;

// One hypercall as Xen saw it (multicall entries appear on their own, flagged).
struct XenCall {
  uint32_t cpu;
  uint32_t nr;
  uint64_t args[5];
  bool in_multicall;
};

struct MmuextRecord {
  uint32_t cmd;
  uint64_t arg1;
  uint64_t vcpu_mask;  // first word of the mask, for the *_MULTI ops
  bool in_multicall;
};

struct VaMapping {
  uint64_t va, pte, flags;
};

struct FakePort {
  enum Kind { kVirq, kIpi } kind;
  uint32_t vcpu;
  uint32_t virq;
};

class XenPvTest : public BareMetalMachineTest {
 protected:
  XenPvTest();
  ~XenPvTest() override;

  // pvops_init through the Xen PV entry (start_info in boot_info), on CPU 0.
  pvops_status BootPv(const char* cmdline = nullptr);
  // Writes Xen's PV stubs into the hypercall page (BootPv does it unless fill_page_ is off).
  void FillPvStubs();
  // Brings CPUs 1..count-1 online, each on itself (cpu_init only; no start_cpu).
  void OnlinePvCpus(uint32_t count);

  // Guest memory: pfn N at Page(N); its guest-physical address is N * 4096.
  uint8_t* Page(uint64_t pfn) { return memory_ + pfn * 4096; }
  pvops_pte* Table(uint64_t pfn) { return reinterpret_cast<pvops_pte*>(Page(pfn)); }
  start_info& StartInfo() { return *reinterpret_cast<start_info*>(Page(kStartInfoPfn)); }
  xen_pfn_t* P2m() { return reinterpret_cast<xen_pfn_t*>(Page(kP2mPfn)); }
  // shared_info as the guest sees it once mapped (the template before).
  shared_info& Shared();
  vcpu_info& Vcpu(uint32_t vcpu) { return Shared().vcpu_info[vcpu]; }

  // Xen raising an event: pending, selector, upcall_pending (2-level ABI, evtchn_2l_set_pending).
  void RaiseEvent(uint32_t port);
  // Runs the guest's event callback on `cpu` when it has an upcall pending and unmasked, as
  // Xen does on its way back to the guest.
  void DeliverUpcalls(uint32_t cpu);

  // What the guest asked for.
  std::vector<XenCall> CallsTo(uint32_t nr) const;
  uint64_t EntriesIntoXen() const;  // top-level hypercalls (a multicall counts once)
  void ClearRecords();
  uint32_t PortOf(FakePort::Kind kind, uint32_t vcpu, uint32_t virq = 0) const;

  std::vector<XenCall> calls_;
  std::vector<std::pair<uint64_t, uint64_t>> mmu_updates_;  // (ptr, val)
  std::vector<MmuextRecord> mmuext_;
  std::vector<VaMapping> va_mappings_;
  std::vector<std::vector<multicall_entry_t>> multicalls_;
  std::map<uint32_t, FakePort> ports_;
  std::vector<uint32_t> sent_ports_;
  std::vector<uint32_t> unmask_calls_;
  std::vector<std::pair<uint32_t, uint64_t>> singleshots_;  // (vcpu, deadline)
  std::vector<uint32_t> singleshot_stops_;
  std::vector<uint32_t> periodic_stops_;
  std::vector<sched_poll> polls_;
  std::vector<uint32_t> poll_first_port_;
  std::vector<uint32_t> blocks_;
  std::vector<uint32_t> shutdowns_;
  std::vector<callback_register> callbacks_;
  std::vector<uint64_t> trap_tables_;
  std::vector<uint32_t> iopl_;
  std::map<uint32_t, uint64_t> runstate_areas_;  // vcpu -> guest address
  std::vector<std::pair<uint32_t, vcpu_guest_context>> vcpu_contexts_;
  std::vector<vcpu_hvm_context> hvm_contexts_;
  std::vector<uint32_t> vcpus_up_;
  std::map<uint64_t, uint32_t> pinned_;                    // mfn -> level
  std::vector<std::pair<uint32_t, uint64_t>> hvm_params_;  // (index, value)
  std::vector<uint64_t> physmap_gpfns_;  // XENMEM_add_to_physmap(shared_info) targets
  std::string console_;
  // The memory reservation: Xen's count, the frames given back (PV: machine frames) and the
  // pfns populated; Xen does at most extents_allowed_ extents of a request.
  uint64_t reservation_ = kGuestPages;
  std::vector<uint64_t> released_;
  std::vector<uint64_t> populated_;
  uint64_t extents_allowed_ = UINT64_MAX;
  uint64_t next_free_mfn_ = 0xe00;  // above every MfnOf(pfn) of the guest, below kMaxMfn

  // Knobs, set before BootPv.
  bool fill_page_ = true;
  bool hvm_ = false;  // events arrive on the callback vector instead of the PV callback
  uint32_t features_ = (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_dom0);
  xen_machphys_mapping machphys_{};
  // Answers a call first; return kFallThrough to let the fake's Xen answer it.
  static constexpr int64_t kFallThrough = INT64_MIN;
  std::function<int64_t(const XenCall&)> answer_;
  std::function<void(uint32_t reason)> on_shutdown_;

  pvops_env pv_env_{};
  std::vector<xen_ulong_t> m2p_;

 private:
  int64_t Dispatch(XenCall& call, arch::HypercallRegs& regs);
  int64_t MmuUpdate(const XenCall& call);
  int64_t Mmuext(const XenCall& call);
  int64_t EventOp(const XenCall& call);
  int64_t VcpuOp(const XenCall& call);
  int64_t SchedOp(const XenCall& call);
  int64_t MemoryOp(const XenCall& call);
  int64_t Multicall(const XenCall& call);

  uint8_t* memory_;
  shared_info shared_template_{};
  shared_info* shared_mapped_ = nullptr;
  uint32_t next_port_ = 1;  // Xen never hands out port 0
  uint32_t upcall_depth_ = 0;
  xen::XenArea saved_area_{};
};

}  // namespace pvops::test
