// SPDX-License-Identifier: MIT
#include "port_io_devices.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pvops::vmm {
namespace {

// Captures what the devices print through a pipe.
class PortIoDevicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(fds_, O_NONBLOCK), 0);
    console_ = std::make_unique<ConsoleOutput>(fds_[1]);
    devices_ = std::make_unique<PortIoDevices>(*console_, [this](uint32_t irq, bool asserted) {
      irq_changes_.push_back({irq, asserted});
    });
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string Printed() {
    std::string text;
    char buffer[256];
    ssize_t got;
    while ((got = read(fds_[0], buffer, sizeof(buffer))) > 0)
      text.append(buffer, static_cast<size_t>(got));
    return text;
  }
  void Out(uint16_t port, uint8_t value) {
    EXPECT_FALSE(devices_->Access(port, true, {&value, 1}).has_value());
  }
  uint8_t In(uint16_t port) {
    uint8_t value = 0x5a;
    devices_->Access(port, false, {&value, 1});
    return value;
  }
  void Print(uint16_t port, const std::string& text) {
    for (char c : text) Out(port, static_cast<uint8_t>(c));
  }

  // The request a one-byte write asks for, if any.
  std::optional<PortRequest> Request(uint16_t port, uint8_t value) {
    return devices_->Access(port, true, {&value, 1});
  }
  MachineStopRequest StopRequest(uint16_t port, uint8_t value) {
    const auto request = Request(port, value);
    if (!request || !std::holds_alternative<MachineStopRequest>(*request)) {
      ADD_FAILURE() << "no reset or power-off from port " << port << " <- " << int{value};
      return {};
    }
    return std::get<MachineStopRequest>(*request);
  }

  int fds_[2];
  std::unique_ptr<ConsoleOutput> console_;
  std::unique_ptr<PortIoDevices> devices_;
  std::vector<std::pair<uint32_t, bool>> irq_changes_;
};

TEST_F(PortIoDevicesTest, Com1PrintsWholeLines) {
  Print(kCom1Base, "ok 1 de");
  EXPECT_EQ(Printed(), "");  // held until the line ends
  Print(kCom1Base, "tect.report\n");
  EXPECT_EQ(Printed(), "ok 1 detect.report\n");
}

TEST_F(PortIoDevicesTest, TheVmmsLinesWaitForTheGuestsLineToEnd) {
  Print(kCom1Base, "ok 2 detect.override # SKI");
  console_->Note("move: request 2");  // a note in the middle of a guest line, as a move's is
  console_->Line("move: hop=2");
  EXPECT_EQ(Printed(), "");
  Print(kCom1Base, "P no override\n");
  EXPECT_EQ(Printed(),
            "ok 2 detect.override # SKIP no override\n# pvops-vmm: move: request 2\nmove: hop=2\n");
  console_->Note("between lines");  // nothing pending: at once
  EXPECT_EQ(Printed(), "# pvops-vmm: between lines\n");
  // The run's end: a line the guest never finished, then what was held.
  Print(kCom1Base, "ok 3 cut");
  console_->Line("FAULT: triple fault");
  console_->Drain();
  EXPECT_EQ(Printed(), "ok 3 cut\nFAULT: triple fault\n");
}

TEST_F(PortIoDevicesTest, Com1AlwaysReadyToSend) {
  EXPECT_EQ(In(kCom1Base + 5), 0x60);  // THRE | TEMT
  EXPECT_EQ(In(kCom1Base + 2), 0x01);  // no interrupt pending
  EXPECT_TRUE(irq_changes_.empty());
}

TEST_F(PortIoDevicesTest, DivisorLatchWritesAreNotPrinted) {
  Out(kCom1Base + 3, 0x80);  // DLAB on
  Out(kCom1Base + 0, 0x01);  // divisor 115200 baud
  Out(kCom1Base + 1, 0x00);
  EXPECT_EQ(In(kCom1Base + 0), 0x01);
  Out(kCom1Base + 3, 0x03);  // 8N1, DLAB off
  Out(kCom1Base + 1, 0x00);  // IER
  Print(kCom1Base, "x\n");
  EXPECT_EQ(Printed(), "x\n");
  EXPECT_EQ(In(kCom1Base + 3), 0x03);
}

TEST_F(PortIoDevicesTest, DebugConsolePrintsAndAnswersPresence) {
  Print(kDebugConsolePort, "# e9\n");
  EXPECT_EQ(Printed(), "# e9\n");
  EXPECT_EQ(In(kDebugConsolePort), 0xe9);
}

TEST_F(PortIoDevicesTest, ExitPortReportsCodeAndWidth) {
  uint8_t word[4] = {0x11, 0, 0, 0};
  const auto request = devices_->Access(kDebugExitPort, true, {word, 4});
  ASSERT_TRUE(request.has_value());
  const auto* exit = std::get_if<GuestExitRequest>(&*request);
  ASSERT_NE(exit, nullptr);
  EXPECT_EQ(exit->code, 0x11u);
  EXPECT_EQ(exit->size, 4);
  const auto byte_request = Request(kDebugExitPort, 0x10);
  ASSERT_TRUE(byte_request.has_value());
  EXPECT_EQ(std::get<GuestExitRequest>(*byte_request).code, 0x10u);
}

TEST_F(PortIoDevicesTest, Com1InterruptIsIsaIrq4) {
  Out(kCom1Base + 1, 0x02);  // IER: THR empty
  EXPECT_EQ(In(kCom1Base + 2), 0x02);
  ASSERT_EQ(irq_changes_.size(), 2u);
  EXPECT_EQ(irq_changes_[0], (std::pair<uint32_t, bool>{4, true}));
  EXPECT_EQ(irq_changes_[1], (std::pair<uint32_t, bool>{4, false}));
}

TEST_F(PortIoDevicesTest, ResetControlRegisterResetsOnlyWithTheCpuResetBit) {
  EXPECT_FALSE(Request(0xcf9, 0x02).has_value());  // Linux's "hard reset" prelude: bit 1 only
  EXPECT_EQ(In(0xcf9), 0x02);
  const MachineStopRequest reset = StopRequest(0xcf9, 0x06);
  EXPECT_FALSE(reset.power_off);
  EXPECT_NE(reset.how.find("0xcf9"), std::string::npos) << reset.how;
  EXPECT_NE(reset.how.find("0x6"), std::string::npos) << reset.how;
  uint8_t dword[4] = {0x06, 0, 0, 0};
  EXPECT_FALSE(devices_->Access(0xcf8, true, {dword, 4}).has_value())
      << "PCI config address, not 0xcf9";
}

TEST_F(PortIoDevicesTest, KeyboardControllerResetCommand) {
  EXPECT_EQ(In(0x64) & 0x02, 0) << "input buffer empty: Linux's kb_wait goes ahead";
  EXPECT_FALSE(Request(0x64, 0xad).has_value());  // other commands: nothing behind them
  const MachineStopRequest reset = StopRequest(0x64, 0xfe);
  EXPECT_FALSE(reset.power_off);
  EXPECT_NE(reset.how.find("keyboard controller"), std::string::npos) << reset.how;
}

TEST_F(PortIoDevicesTest, AcpiSleepControlPowersOffOnSleepEnable) {
  EXPECT_FALSE(Request(kAcpiSleepStatusPort, 0x80).has_value());  // clearing WAK_STS
  EXPECT_EQ(In(kAcpiSleepStatusPort), 0x00);
  EXPECT_FALSE(Request(kAcpiSleepControlPort, 5 << 2).has_value()) << "SLP_EN not set";
  const MachineStopRequest off = StopRequest(kAcpiSleepControlPort, (5 << 2) | 0x20);
  EXPECT_TRUE(off.power_off);
  EXPECT_NE(off.how.find("(S5)"), std::string::npos) << off.how;
  // A sleep type the DSDT does not offer would never wake: the run ends all the same.
  const MachineStopRequest s3 = StopRequest(kAcpiSleepControlPort, (3 << 2) | 0x20);
  EXPECT_NE(s3.how.find("not declared"), std::string::npos) << s3.how;
}

TEST_F(PortIoDevicesTest, CmosRtcAnswersOnPorts70And71) {
  Out(0x70, 0x0d);
  EXPECT_EQ(In(0x71), 0x80);  // status D: valid
  Out(0x70, 0x32);
  EXPECT_EQ(In(0x71), 0x20);  // the century of this machine's clock, in BCD
  EXPECT_EQ(devices_->unhandled_accesses(), 0u);
}

TEST_F(PortIoDevicesTest, OtherPortsReadAllOnesAndAreCounted) {
  EXPECT_EQ(In(0x80), 0xff);
  Out(0x80, 0);  // the legacy io_delay port
  EXPECT_EQ(devices_->unhandled_accesses(), 2u);
  EXPECT_EQ(Printed(), "");
}

TEST_F(PortIoDevicesTest, AtTheRunsEndAPartialGuestLineComesFirst) {
  Print(kCom1Base, "partial");
  console_->Note("fault: triple fault");
  console_->Line("stat: kvm_exits=3");
  console_->Drain();
  EXPECT_EQ(Printed(), "partial\n# pvops-vmm: fault: triple fault\nstat: kvm_exits=3\n");
}

}  // namespace
}  // namespace pvops::vmm
