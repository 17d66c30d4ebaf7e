/* SPDX-License-Identifier: MIT */
// The host side of moves (docs/guest-protocol.md "Moves", include/pvops/move.h): the plan of
// personalities a VM runs through, and the move port with the guest's mailbox. Nothing here
// touches KVM: the VM (virtual_machine.cc) asks what to do and does the hop itself.
#pragma once

#include <pvops/move.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest_memory.h"

namespace pvops::vmm {

// "kvm,vmware,xen": the personality the VM starts with, then one per hop. Throws VmmError for an
// empty list, an empty or unknown name, or a name that does not fit the mailbox's `next`.
std::vector<std::string> ParseMovePlan(std::string_view spec);

struct MoveTiming {
  // A request this long after the mailbox is registered, and after each hop's resume; nullopt:
  // only when the guest asks (`out 2`).
  std::optional<std::chrono::milliseconds> request_after;
  // A guest that has not said "ready" this long after a request ends the run.
  std::chrono::milliseconds ready_timeout{10'000};
};

// What a port write asks of the VM.
struct MovePortAction {
  enum class Kind {
    kNone,     // registered, asked, or ignored: nothing for the VM to do now
    kHop,      // "ready": stop every vCPU and move to next_personality()
    kRefused,  // a bad value: `why` says so; the guest goes on where it is
  };
  Kind kind = Kind::kNone;
  std::string why;
};

class MoveController {
 public:
  using Clock = std::chrono::steady_clock;

  MoveController(std::vector<std::string> plan, MoveTiming timing, GuestMemory& memory);

  // `in` of the port: the magic (a mover runs this guest).
  static uint32_t PortRead() { return PVOPS_MOVE_PORT_MAGIC; }
  // `out` of the port: a mailbox address, READY or ASK. Every value comes from the guest and is
  // checked; a bad one is refused with the reason.
  MovePortAction PortWrite(uint32_t value, Clock::time_point now);

  // When the next request is due (nullopt: none planned, or one is out).
  std::optional<Clock::time_point> request_due() const { return request_due_; }
  // When a request still unanswered by "ready" ends the run (nullopt: none out).
  std::optional<Clock::time_point> ready_deadline() const { return ready_deadline_; }
  // Writes the request into the mailbox (next, request_seq, then request); returns the vector to
  // raise on vCPU 0.
  uint8_t IssueRequest(Clock::time_point now);
  // After the hop, before the new VM runs: hops, plan_done on the last one, then pause_ns.
  void CompleteHop(uint64_t pause_ns, Clock::time_point now);

  const std::string& current_personality() const { return plan_[hops_]; }
  // The personality of the hop a request is out for, or the next one planned.
  const std::string& next_personality() const { return plan_[hops_ + 1]; }
  uint32_t hops_done() const { return hops_; }
  uint32_t hops_planned() const { return static_cast<uint32_t>(plan_.size() - 1); }
  bool plan_done() const { return hops_ == hops_planned(); }
  bool request_out() const { return ready_deadline_.has_value(); }
  std::optional<uint64_t> mailbox_address() const { return mailbox_; }
  uint64_t request_seq() const { return request_seq_; }

 private:
  pvops_move_mailbox* Mailbox();
  MovePortAction Register(uint32_t address, Clock::time_point now);
  void PlanNextRequest(Clock::time_point now);

  std::vector<std::string> plan_;
  MoveTiming timing_;
  GuestMemory& memory_;
  std::optional<uint64_t> mailbox_;
  uint8_t vector_ = 0;
  uint32_t hops_ = 0;
  uint64_t request_seq_ = 0;
  std::optional<Clock::time_point> request_due_;
  std::optional<Clock::time_point> ready_deadline_;
};

}  // namespace pvops::vmm
