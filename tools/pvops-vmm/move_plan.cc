// SPDX-License-Identifier: MIT
#include "move_plan.h"

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "personality.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr uint32_t kFirstExternalVector = 32;  // below: exceptions, never a device's vector

template <typename T>
void StoreRelease(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

}  // namespace

std::vector<std::string> ParseMovePlan(std::string_view spec) {
  std::vector<std::string> plan;
  for (const auto part : absl::StrSplit(std::string(spec), ',')) {
    const std::string name(part);
    if (name.empty())
      throw VmmError(absl::StrCat("--move='", std::string(spec), "': an empty name"));
    if (!IsPersonalityName(name))
      throw VmmError(
          absl::StrCat("--move: unknown personality '", name, "' (", PersonalityNameList(), ")"));
    if (name.size() >= sizeof(pvops_move_mailbox{}.next))
      throw VmmError(absl::StrCat("--move: '", name, "' does not fit the mailbox"));
    plan.push_back(name);
  }
  return plan;
}

MoveController::MoveController(std::vector<std::string> plan, MoveTiming timing,
                               GuestMemory& memory)
    : plan_(std::move(plan)), timing_(timing), memory_(memory) {
  if (plan_.empty()) throw VmmError("a move plan names at least the starting personality");
}

pvops_move_mailbox* MoveController::Mailbox() {
  // Checked at registration: the page is RAM, and RAM does not move.
  return reinterpret_cast<pvops_move_mailbox*>(memory_.At(*mailbox_, kPageBytes).data());
}

MovePortAction MoveController::PortWrite(uint32_t value, Clock::time_point now) {
  using Kind = MovePortAction::Kind;
  switch (value) {
    case PVOPS_MOVE_PORT_READY:
      if (!mailbox_) return {Kind::kRefused, "ready, but no mailbox is registered"};
      if (!request_out()) return {Kind::kRefused, "ready, but no request is out"};
      return {Kind::kHop, ""};
    case PVOPS_MOVE_PORT_ASK:
      if (!mailbox_) return {Kind::kRefused, "asked for a hop, but no mailbox is registered"};
      if (plan_done()) return {Kind::kRefused, "asked for a hop, but the plan is done"};
      if (!request_out()) request_due_ = now;  // one already out answers the ask
      return {};
    default:
      if (value % kPageBytes != 0)
        return {Kind::kRefused,
                absl::StrFormat("%#x is no page-aligned mailbox address, nor %u or %u", value,
                                PVOPS_MOVE_PORT_READY, PVOPS_MOVE_PORT_ASK)};
      return Register(value, now);
  }
}

MovePortAction MoveController::Register(uint32_t address, Clock::time_point now) {
  using Kind = MovePortAction::Kind;
  const auto refuse = [address](const std::string& why) {
    return MovePortAction{Kind::kRefused,
                          absl::StrFormat("mailbox at %#x refused: %s", address, why)};
  };
  if (request_out()) return refuse("a request is out");
  const auto page = memory_.TryAt(address, kPageBytes);
  if (!page) return refuse("not a page of guest RAM");
  // One copy, then only the copy is looked at: the guest may change the page meanwhile.
  pvops_move_mailbox box;
  std::memcpy(&box, page->data(), sizeof(box));
  if (box.magic != PVOPS_MOVE_PORT_MAGIC) return refuse(absl::StrFormat("magic %#x", box.magic));
  if (box.version != PVOPS_MOVE_MAILBOX_VERSION)
    return refuse(absl::StrFormat("version %u, not %u", box.version, PVOPS_MOVE_MAILBOX_VERSION));
  if (box.vector < kFirstExternalVector || box.vector > 0xff)
    return refuse(absl::StrFormat("vector %u is not 32..255", box.vector));
  mailbox_ = address;
  vector_ = static_cast<uint8_t>(box.vector);
  if (plan_done()) StoreRelease(Mailbox()->plan_done, 1u);
  PlanNextRequest(now);
  return {};
}

void MoveController::PlanNextRequest(Clock::time_point now) {
  request_due_.reset();
  if (!plan_done() && timing_.request_after) request_due_ = now + *timing_.request_after;
}

uint8_t MoveController::IssueRequest(Clock::time_point now) {
  if (!mailbox_ || plan_done()) throw VmmError("a move request without a mailbox or a hop left");
  pvops_move_mailbox* box = Mailbox();
  char next[sizeof(box->next)] = {};
  std::memcpy(next, next_personality().data(), next_personality().size());
  std::memcpy(box->next, next, sizeof(next));
  StoreRelease(box->request_seq, ++request_seq_);
  // Last: the guest acts on `request`, and then reads the rest.
  StoreRelease(box->request, PVOPS_MOVE_REQUEST_MOVE);
  request_due_.reset();
  ready_deadline_ = now + timing_.ready_timeout;
  return vector_;
}

void MoveController::CompleteHop(uint64_t pause_ns, Clock::time_point now) {
  if (!request_out()) throw VmmError("a hop completed without a request");
  ++hops_;
  pvops_move_mailbox* box = Mailbox();
  StoreRelease(box->hops, uint64_t{hops_});
  if (plan_done()) StoreRelease(box->plan_done, 1u);
  StoreRelease(box->pause_ns, pause_ns);
  ready_deadline_.reset();
  PlanNextRequest(now);
}

}  // namespace pvops::vmm
