// SPDX-License-Identifier: MIT
#include "l1_trace.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pvops::vmm {
namespace {

// Two lines as the kvm environment's L1 (Linux 6.12, kvm_amd) traced a guest's lidt of an empty
// IDT followed by ud2: KVM intercepted the #UD, re-injected it, and the delivery shut down.
const std::vector<std::string> kTripleFaultTrace = {
    "  pvops-vmm-158 [001] d..1.    13.326599: kvm_exit: vcpu 0 reason UD excp rip "
    "0xffffffff8010a46c info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 "
    "error_code 0x00000000",
    "  pvops-vmm-158 [001] .....    13.327033: kvm_inj_exception: #UD",
    "  pvops-vmm-159 [000] d..1.    13.327316: kvm_exit: vcpu 1 reason interrupt rip "
    "0xffffffff80107362 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 "
    "error_code 0x00000000",
    "  pvops-vmm-158 [001] d..1.    13.327521: kvm_exit: vcpu 0 reason shutdown rip "
    "0xffffffff8010a46c info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000306 "
    "error_code 0x00000000",
};

TEST(L1TraceTest, FindsTheShutdownExitOfTheFaultingVcpu) {
  const std::optional<ShutdownExit> exit = LastShutdownExit(kTripleFaultTrace, 0);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->rip, 0xffffffff8010a46cu);
  EXPECT_EQ(exit->delivering, 0x80000306u);
  EXPECT_EQ(DescribeDeliveredEvent(exit->delivering), "vector 6 (exception)");
  // vCPU 1 only took an interrupt exit; vcpu 10 must not match vcpu 1's lines either.
  EXPECT_FALSE(LastShutdownExit(kTripleFaultTrace, 1).has_value());
  EXPECT_FALSE(LastShutdownExit(kTripleFaultTrace, 10).has_value());
}

TEST(L1TraceTest, AShutdownLineWithoutItsFieldsGivesNothing) {
  EXPECT_FALSE(LastShutdownExit({"kvm_exit: vcpu 0 reason shutdown rip zzz"}, 0).has_value());
  EXPECT_EQ(DescribeDeliveredEvent(0x00000306), "no event");
  EXPECT_EQ(DescribeDeliveredEvent(0x80000041), "vector 65 (interrupt)");
}

class FakeTracefs : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/l1-trace-test-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ + "/" + file) << text;
  }
  std::string Read(const std::string& file) {
    std::string text;
    std::getline(std::ifstream(dir_ + "/" + file), text);
    return text;
  }
  std::string dir_;
};

TEST_F(FakeTracefs, StopsTheTraceAndKeepsTheLastLinesWithoutTheHeader) {
  Write("tracing_on", "1\n");
  Write("trace", "# tracer: nop\n#\nfirst\nsecond\n\nthird\n");
  EXPECT_EQ(StopTraceAndTail(dir_, 2), (std::vector<std::string>{"second", "third"}));
  EXPECT_EQ(Read("tracing_on"), "0");
}

TEST_F(FakeTracefs, ReadsNothingWhenTracingIsOffOrAbsent) {
  Write("tracing_on", "0\n");
  Write("trace", "an old line\n");
  EXPECT_TRUE(StopTraceAndTail(dir_, 40).empty());
  EXPECT_TRUE(StopTraceAndTail(dir_ + "/absent", 40).empty());
}

// Records as Linux's /dev/kmsg hands them out (Documentation/ABI/testing/dev-kmsg).
TEST(KernelClockMessage, KeepsTheClockMessagesWithTheirTime) {
  EXPECT_EQ(KernelClockMessage("4,612,40129300,-;clocksource: timekeeping watchdog on CPU1: "
                               "Marking clocksource 'tsc' as unstable because the skew is too "
                               "large:\n SUBSYSTEM=cpu\n"),
            "[40129300 us] clocksource: timekeeping watchdog on CPU1: Marking clocksource 'tsc' "
            "as unstable because the skew is too large:");
  EXPECT_EQ(KernelClockMessage("6,0,0,-;tsc: Fast TSC calibration using PIT\n"),
            "[0 us] tsc: Fast TSC calibration using PIT");
}

TEST(KernelClockMessage, SkipsOtherMessagesAndBrokenRecords) {
  EXPECT_EQ(KernelClockMessage("6,1,12,-;kvm_amd: Nested Virtualization enabled\n"), std::nullopt);
  EXPECT_EQ(KernelClockMessage("a record without its separator about tsc"), std::nullopt);
}

TEST(KernelClockMessages, ReadsNothingWithoutTheDevice) {
  EXPECT_TRUE(KernelClockMessages("/nonexistent/kmsg").empty());
}

}  // namespace
}  // namespace pvops::vmm
