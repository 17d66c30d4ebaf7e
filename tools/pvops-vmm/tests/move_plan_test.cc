// SPDX-License-Identifier: MIT
#include "move_plan.h"

#include <gtest/gtest.h>

#include <cstring>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

using Kind = MovePortAction::Kind;
using Clock = MoveController::Clock;
using std::chrono::milliseconds;

constexpr uint32_t kMailbox = 0x13f000;
constexpr uint64_t kRam = 2u << 20;

TEST(MovePlan, NamesTheStartThenEachHop) {
  EXPECT_EQ(ParseMovePlan("kvm,vmware,xen,hyperv,kvm"),
            (std::vector<std::string>{"kvm", "vmware", "xen", "hyperv", "kvm"}));
  EXPECT_EQ(ParseMovePlan("hyperv-kvm"), (std::vector<std::string>{"hyperv-kvm"}));
}

TEST(MovePlan, RefusesEmptyAndUnknownNames) {
  EXPECT_THROW(ParseMovePlan(""), VmmError);
  EXPECT_THROW(ParseMovePlan("kvm,,xen"), VmmError);
  EXPECT_THROW(ParseMovePlan("kvm,"), VmmError);
  EXPECT_THROW(ParseMovePlan("kvm,bhyve"), VmmError);
  EXPECT_THROW(ParseMovePlan("KVM"), VmmError);
}

class MoveControllerTest : public ::testing::Test {
 protected:
  pvops_move_mailbox& Box() {
    return *reinterpret_cast<pvops_move_mailbox*>(
        memory_.At(kMailbox, sizeof(pvops_move_mailbox)).data());
  }
  // What pvops_move_register writes before its `out`.
  void WriteGuestFields(uint32_t magic = PVOPS_MOVE_PORT_MAGIC,
                        uint32_t version = PVOPS_MOVE_MAILBOX_VERSION, uint32_t vector = 0x4a) {
    Box() = pvops_move_mailbox{};
    Box().magic = magic;
    Box().version = version;
    Box().vector = vector;
  }
  MoveController Controller(std::vector<std::string> plan,
                            std::optional<milliseconds> after = milliseconds(200)) {
    return MoveController(std::move(plan),
                          {.request_after = after, .ready_timeout = milliseconds(10'000)}, memory_);
  }

  GuestMemory memory_{kRam};
  Clock::time_point t0_ = Clock::time_point(std::chrono::seconds(100));
};

TEST_F(MoveControllerTest, AnEmptyPlanIsDoneAtRegistration) {
  WriteGuestFields();
  MoveController move = Controller({"kvm"});
  EXPECT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kNone);
  EXPECT_EQ(Box().plan_done, 1u);
  EXPECT_FALSE(move.request_due());
  EXPECT_EQ(move.PortWrite(PVOPS_MOVE_PORT_ASK, t0_).kind, Kind::kRefused);
}

TEST_F(MoveControllerTest, ARequestIsDueAfterRegistrationAndAnsweredByReady) {
  WriteGuestFields();
  MoveController move = Controller({"kvm", "vmware", "xen"});
  ASSERT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kNone);
  EXPECT_EQ(Box().plan_done, 0u);
  ASSERT_TRUE(move.request_due());
  EXPECT_EQ(*move.request_due(), t0_ + milliseconds(200));
  EXPECT_EQ(move.PortWrite(PVOPS_MOVE_PORT_READY, t0_).kind, Kind::kRefused);  // no request

  const Clock::time_point asked = t0_ + milliseconds(200);
  EXPECT_EQ(move.IssueRequest(asked), 0x4a);
  EXPECT_EQ(Box().request, PVOPS_MOVE_REQUEST_MOVE);
  EXPECT_EQ(Box().request_seq, 1u);
  EXPECT_STREQ(Box().next, "vmware");
  EXPECT_FALSE(move.request_due());
  EXPECT_EQ(*move.ready_deadline(), asked + milliseconds(10'000));

  Box().request = PVOPS_MOVE_REQUEST_NONE;  // the guest's suspend
  EXPECT_EQ(move.PortWrite(PVOPS_MOVE_PORT_READY, asked).kind, Kind::kHop);
  move.CompleteHop(42'000'000, asked + milliseconds(50));
  EXPECT_EQ(Box().hops, 1u);
  EXPECT_EQ(Box().pause_ns, 42'000'000u);
  EXPECT_EQ(Box().plan_done, 0u);
  EXPECT_EQ(move.current_personality(), "vmware");
  EXPECT_FALSE(move.ready_deadline());
  EXPECT_EQ(*move.request_due(), asked + milliseconds(250));

  move.IssueRequest(asked + milliseconds(250));
  EXPECT_STREQ(Box().next, "xen");
  EXPECT_EQ(Box().request_seq, 2u);
  move.CompleteHop(7, asked + milliseconds(300));
  EXPECT_EQ(Box().hops, 2u);
  EXPECT_EQ(Box().plan_done, 1u);
  EXPECT_TRUE(move.plan_done());
  EXPECT_FALSE(move.request_due());
}

TEST_F(MoveControllerTest, WithoutATimerOnlyTheGuestsAskMakesARequestDue) {
  WriteGuestFields();
  MoveController move = Controller({"kvm", "xen"}, std::nullopt);
  ASSERT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kNone);
  EXPECT_FALSE(move.request_due());
  EXPECT_EQ(move.PortWrite(PVOPS_MOVE_PORT_ASK, t0_ + milliseconds(5)).kind, Kind::kNone);
  EXPECT_EQ(*move.request_due(), t0_ + milliseconds(5));
  move.IssueRequest(t0_ + milliseconds(5));
  // A second ask while one is out changes nothing.
  EXPECT_EQ(move.PortWrite(PVOPS_MOVE_PORT_ASK, t0_ + milliseconds(6)).kind, Kind::kNone);
  EXPECT_FALSE(move.request_due());
}

TEST_F(MoveControllerTest, RefusesWhatTheGuestGetsWrong) {
  MoveController move = Controller({"kvm", "xen"});
  WriteGuestFields(0x12345678);
  EXPECT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kRefused);
  WriteGuestFields(PVOPS_MOVE_PORT_MAGIC, 2);
  EXPECT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kRefused);
  WriteGuestFields(PVOPS_MOVE_PORT_MAGIC, PVOPS_MOVE_MAILBOX_VERSION, 0x10);
  EXPECT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kRefused);
  WriteGuestFields(PVOPS_MOVE_PORT_MAGIC, PVOPS_MOVE_MAILBOX_VERSION, 0x100);
  EXPECT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kRefused);
  WriteGuestFields();
  EXPECT_EQ(move.PortWrite(kMailbox + 8, t0_).kind, Kind::kRefused);         // not page aligned
  EXPECT_EQ(move.PortWrite(kRam, t0_).kind, Kind::kRefused);                 // past RAM
  EXPECT_EQ(move.PortWrite(0xfffff000u, t0_).kind, Kind::kRefused);          // past RAM
  EXPECT_EQ(move.PortWrite(PVOPS_MOVE_PORT_ASK, t0_).kind, Kind::kRefused);  // no mailbox
  EXPECT_FALSE(move.mailbox_address());
  EXPECT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kNone);
  EXPECT_EQ(move.mailbox_address(), kMailbox);
}

TEST_F(MoveControllerTest, NoNewMailboxWhileARequestIsOut) {
  WriteGuestFields();
  MoveController move = Controller({"kvm", "xen"});
  ASSERT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kNone);
  move.IssueRequest(t0_);
  EXPECT_EQ(move.PortWrite(kMailbox + 0x1000, t0_).kind, Kind::kRefused);
  EXPECT_EQ(move.mailbox_address(), kMailbox);
}

TEST_F(MoveControllerTest, ReadsTheGuestFieldsOnce) {
  WriteGuestFields();
  MoveController move = Controller({"kvm", "xen"});
  ASSERT_EQ(move.PortWrite(kMailbox, t0_).kind, Kind::kNone);
  Box().vector = 3;  // changed after registration: the registered vector stays
  EXPECT_EQ(move.IssueRequest(t0_), 0x4a);
}

}  // namespace
}  // namespace pvops::vmm
