/* SPDX-License-Identifier: MIT */
// Personality `xen`: the guest sees Xen 4.17's HVM/PVH interface ("XenVMMXenVMM" at 0x40000000,
// a hypercall page by MSR, shared_info, event channels on a callback vector) built on KVM's Xen
// emulation (KVM_CAP_XEN_HVM). KVM fills the hypercall page and the pvclock in each vcpu_info,
// writes the wall clock and runstate areas, raises events and injects the callback vector, and
// answers the hot hypercalls in-kernel (EVTCHNOP_send on ports it was told of, SCHEDOP_poll and
// yield, the one-shot timer once VIRQ_TIMER is bound, XENVER_version). Every other hypercall
// exits to this VMM (KVM_EXIT_XEN), which plays Xen: it binds ports and tells KVM of them,
// places shared_info, starts vCPUs from a vcpu_hvm_context, and answers -ENOSYS to what no
// part here implements.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "personality.h"

namespace pvops::vmm {

inline constexpr uint32_t kXenCpuidBase = 0x40000000;
inline constexpr uint32_t kXenHypercallPageMsr = 0x40000000;  // what leaf base+2 names
inline constexpr uint32_t kXenVersion = 0x00040011;           // 4.17, as the xen envs run
// The guest's event ports: the 2-level ABI's count on a 64-bit guest (64 words of 64 bits).
inline constexpr uint32_t kXenEventPorts = 64 * 64;

// Leaves 0x40000000..0x40000004 for the vCPU Xen numbers `xen_vcpu_id`: signature and max leaf,
// version, hypercall page (1 page at kXenHypercallPageMsr), the time leaf's sub-leaves 0-2
// (KVM writes the TSC scale into 1 and 2), and the HVM leaf with the vCPU id.
CpuidTable XenLeaves(uint32_t xen_vcpu_id);

// The event ports bound so far: what each is, and to which vCPU.
struct XenPort {
  enum class Kind : uint8_t { kFree, kVirq, kIpi };
  Kind kind = Kind::kFree;
  uint32_t vcpu = 0;
  uint32_t virq = 0;  // kVirq
};

class XenPortTable {
 public:
  explicit XenPortTable(uint32_t port_count) : ports_(port_count) {}
  // The lowest free port (never 0, which Xen never hands out), now bound; nullopt when full.
  std::optional<uint32_t> Bind(const XenPort& port);
  std::optional<uint32_t> FindVirq(uint32_t vcpu, uint32_t virq) const;
  // A bound port; nullptr for port 0, one out of range or a free one.
  const XenPort* Find(uint32_t port) const;
  bool Close(uint32_t port);  // false when it was not bound
  uint32_t size() const { return static_cast<uint32_t>(ports_.size()); }

 private:
  std::vector<XenPort> ports_;
};

std::unique_ptr<Personality> MakeXenPersonality(const PersonalityOptions& options);

}  // namespace pvops::vmm
