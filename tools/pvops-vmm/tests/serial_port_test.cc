// SPDX-License-Identifier: MIT
#include "serial_port.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace pvops::vmm {
namespace {

// Register offsets and bits as Linux's include/uapi/linux/serial_reg.h names them.
constexpr uint16_t kRx = 0, kTx = 0, kDll = 0, kIer = 1, kDlm = 1, kIir = 2, kFcr = 2, kLcr = 3,
                   kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;
constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02;
constexpr uint8_t kIirNoInt = 0x01, kIirThri = 0x02, kIirRdi = 0x04;
constexpr uint8_t kLsrDr = 0x01, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kMcrLoop = 0x10;

class SerialPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(fds_, O_NONBLOCK), 0);
    console_ = std::make_unique<ConsoleOutput>(fds_[1]);
    port_ = std::make_unique<SerialPort>(*console_,
                                         [this](bool asserted) { levels_.push_back(asserted); });
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string Printed() {
    console_->Drain();
    std::string text;
    char buffer[256];
    ssize_t got;
    while ((got = read(fds_[0], buffer, sizeof(buffer))) > 0) {
      text.append(buffer, static_cast<size_t>(got));
    }
    return text;
  }
  bool LineAsserted() const { return !levels_.empty() && levels_.back(); }
  int RisingEdges() const {
    int edges = 0;
    for (bool level : levels_) edges += level ? 1 : 0;  // only changes are reported
    return edges;
  }

  int fds_[2];
  std::unique_ptr<ConsoleOutput> console_;
  std::unique_ptr<SerialPort> port_;
  std::vector<bool> levels_;  // every change of the interrupt line, in order
};

TEST_F(SerialPortTest, TransmitsToTheConsoleAndIsAlwaysReady) {
  for (char c : std::string("ttyS0\n")) port_->Write(kTx, static_cast<uint8_t>(c));
  EXPECT_EQ(Printed(), "ttyS0\n");
  EXPECT_EQ(port_->Read(kLsr), kLsrThre | kLsrTemt);
  EXPECT_EQ(port_->Read(kIir), kIirNoInt);
  EXPECT_TRUE(levels_.empty()) << "no interrupt while none is enabled";
}

TEST_F(SerialPortTest, ReceiverBufferReadsZeroWithNothingReceived) {
  EXPECT_EQ(port_->Read(kRx), 0);
  EXPECT_EQ(port_->Read(kLsr) & kLsrDr, 0);
  port_->Write(kIer, kIerRdi);
  EXPECT_EQ(port_->Read(kIir), kIirNoInt);
  EXPECT_TRUE(levels_.empty());
}

TEST_F(SerialPortTest, EnablingThreInterruptRaisesItAtOnceAndIirReadClearsIt) {
  port_->Write(kIer, kIerThri);
  EXPECT_TRUE(LineAsserted());
  EXPECT_EQ(port_->Read(kIir), kIirThri);
  EXPECT_FALSE(LineAsserted());
  EXPECT_EQ(port_->Read(kIir), kIirNoInt) << "acknowledged by the read that named it";
}

TEST_F(SerialPortTest, DisablingThreInterruptLowersTheLine) {
  port_->Write(kIer, kIerThri);
  EXPECT_TRUE(LineAsserted());
  port_->Write(kIer, 0);
  EXPECT_FALSE(LineAsserted());
  EXPECT_EQ(port_->Read(kIir), kIirNoInt);
}

// serial8250_do_startup: a UART that does not re-assert THRE gets UART_BUG_THRE (a timer
// instead of interrupts), one that gives no THRE interrupt at all gets UART_BUG_TXEN.
TEST_F(SerialPortTest, PassesTheLinux8250StartupTests) {
  port_->Write(kIer, kIerThri);
  const uint8_t iir1 = port_->Read(kIir);
  port_->Write(kIer, 0);
  port_->Write(kIer, kIerThri);
  const uint8_t iir = port_->Read(kIir);
  port_->Write(kIer, 0);
  EXPECT_FALSE((iir1 & kIirNoInt) == 0 && (iir & kIirNoInt) != 0) << "would set UART_BUG_THRE";
  EXPECT_EQ(iir1 & kIirNoInt, 0);

  port_->Write(kIer, kIerThri);
  const uint8_t lsr = port_->Read(kLsr);
  const uint8_t iir_tx = port_->Read(kIir);
  port_->Write(kIer, 0);
  EXPECT_FALSE((lsr & kLsrTemt) && (iir_tx & kIirNoInt)) << "would set UART_BUG_TXEN";
}

// The 8250 transmit path: each interrupt acknowledges THRE by reading IIR and refills the
// holding register; each refill must be a new edge for an edge-triggered IOAPIC pin.
TEST_F(SerialPortTest, EveryRefillAfterAnAcknowledgeIsANewInterrupt) {
  port_->Write(kIer, kIerThri);
  for (char c : std::string("abc")) {
    ASSERT_TRUE(LineAsserted());
    EXPECT_EQ(port_->Read(kIir), kIirThri);
    EXPECT_FALSE(LineAsserted());
    port_->Write(kTx, static_cast<uint8_t>(c));
  }
  EXPECT_TRUE(LineAsserted());
  EXPECT_EQ(RisingEdges(), 4);
  port_->Write(kIer, 0);  // the driver's __stop_tx once its buffer is empty
  EXPECT_FALSE(LineAsserted());
  EXPECT_EQ(Printed(), "abc\n");  // Drain ends the partial line
}

TEST_F(SerialPortTest, IirShowsEnabledFifosAs16550A) {
  port_->Write(kFcr, 0x01);
  EXPECT_EQ(port_->Read(kIir) >> 6, 3) << "autoconfig's 16550A answer";
  port_->Write(kIer, kIerThri);
  EXPECT_EQ(port_->Read(kIir), 0xc0 | kIirThri);
  port_->Write(kFcr, 0x00);
  EXPECT_EQ(port_->Read(kIir), kIirNoInt);
}

TEST_F(SerialPortTest, InterruptEnableKeepsFourBits) {
  port_->Write(kIer, 0);
  EXPECT_EQ(port_->Read(kIer) & 0x0f, 0);
  port_->Write(kIer, 0xff);
  EXPECT_EQ(port_->Read(kIer), 0x0f);
}

TEST_F(SerialPortTest, LoopbackEchoesBytesAndModemLines) {
  // autoconfig's loopback check: RTS and OUT2 come back as CTS and DCD.
  port_->Write(kMcr, kMcrLoop | 0x0a);
  EXPECT_EQ(port_->Read(kMsr) & 0xf0, 0x90);
  port_->Write(kMcr, kMcrLoop | 0x05);  // DTR, OUT1 -> DSR, RI
  EXPECT_EQ(port_->Read(kMsr) & 0xf0, 0x60);

  port_->Write(kIer, kIerRdi | kIerThri);
  port_->Read(kIir);  // THRE from enabling it
  port_->Write(kTx, 'x');
  EXPECT_EQ(Printed(), "") << "loopback keeps the byte in the UART";
  EXPECT_EQ(port_->Read(kLsr) & kLsrDr, kLsrDr);
  EXPECT_EQ(port_->Read(kIir), kIirRdi) << "received data outranks THRE";
  EXPECT_EQ(port_->Read(kRx), 'x');
  EXPECT_EQ(port_->Read(kLsr) & kLsrDr, 0);
  EXPECT_EQ(port_->Read(kIir), kIirThri);
  EXPECT_EQ(port_->Read(kIir), kIirNoInt);
  EXPECT_FALSE(LineAsserted());

  port_->Write(kMcr, 0x0b);  // loopback off: a terminal is there (CTS, DSR, DCD)
  EXPECT_EQ(port_->Read(kMsr), 0xb0);
}

TEST_F(SerialPortTest, DivisorLatchAndScratch) {
  port_->Write(kLcr, 0x80);
  port_->Write(kDll, 0x0c);
  port_->Write(kDlm, 0x01);
  EXPECT_EQ(port_->Read(kDll), 0x0c);
  EXPECT_EQ(port_->Read(kDlm), 0x01);
  port_->Write(kLcr, 0x03);
  EXPECT_EQ(port_->Read(kLcr), 0x03);
  EXPECT_EQ(port_->Read(kIer), 0) << "IER untouched by divisor writes";
  EXPECT_EQ(Printed(), "") << "divisor writes are not transmitted";
  port_->Write(kScr, 0xa5);
  EXPECT_EQ(port_->Read(kScr), 0xa5);
}

}  // namespace
}  // namespace pvops::vmm
