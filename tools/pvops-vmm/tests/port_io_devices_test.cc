#include "port_io_devices.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace pvops::vmm {
namespace {

// Captures what the devices print through a pipe.
class PortIoDevicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(fds_, O_NONBLOCK), 0);
    console_ = std::make_unique<ConsoleOutput>(fds_[1]);
    devices_ = std::make_unique<PortIoDevices>(*console_);
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string Printed() {
    std::string text;
    char buffer[256];
    ssize_t got;
    while ((got = read(fds_[0], buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(got));
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

  int fds_[2];
  std::unique_ptr<ConsoleOutput> console_;
  std::unique_ptr<PortIoDevices> devices_;
};

TEST_F(PortIoDevicesTest, Com1PrintsWholeLines) {
  Print(kCom1Base, "ok 1 de");
  EXPECT_EQ(Printed(), "");  // held until the line ends
  Print(kCom1Base, "tect.report\n");
  EXPECT_EQ(Printed(), "ok 1 detect.report\n");
}

TEST_F(PortIoDevicesTest, Com1AlwaysReadyToSend) {
  EXPECT_EQ(In(kCom1Base + 5), 0x60);  // THRE | TEMT
  EXPECT_EQ(In(kCom1Base + 2), 0x01);  // no interrupt pending
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
  const auto exit = devices_->Access(kDebugExitPort, true, {word, 4});
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->code, 0x11u);
  EXPECT_EQ(exit->size, 4);
  uint8_t byte = 0x10;
  EXPECT_EQ(devices_->Access(kDebugExitPort, true, {&byte, 1})->code, 0x10u);
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

TEST_F(PortIoDevicesTest, NotesEndAPartialGuestLineFirst) {
  Print(kCom1Base, "partial");
  console_->Note("fault: triple fault");
  console_->Line("stat: kvm_exits=3");
  EXPECT_EQ(Printed(), "partial\n# pvops-vmm: fault: triple fault\nstat: kvm_exits=3\n");
}

}  // namespace
}  // namespace pvops::vmm
