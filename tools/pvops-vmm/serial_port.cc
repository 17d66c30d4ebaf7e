// SPDX-License-Identifier: MIT
#include "serial_port.h"

#include <utility>

namespace pvops::vmm {
namespace {

// 16550A register offsets (with DLAB set, offsets 0 and 1 are the divisor latch).
constexpr uint16_t kData = 0;  // RBR on read, THR on write
constexpr uint16_t kInterruptEnable = 1;
constexpr uint16_t kInterruptId = 2;  // IIR on read, FCR on write
constexpr uint16_t kLineControl = 3;
constexpr uint16_t kModemControl = 4;
constexpr uint16_t kLineStatus = 5;
constexpr uint16_t kModemStatus = 6;
constexpr uint16_t kScratch = 7;

constexpr uint8_t kIerReceivedData = 0x01;
constexpr uint8_t kIerTransmitterEmpty = 0x02;
constexpr uint8_t kIerWritable = 0x0f;  // a 16550A has four interrupt enables, the rest reads 0

constexpr uint8_t kIirNonePending = 0x01;
constexpr uint8_t kIirTransmitterEmpty = 0x02;
constexpr uint8_t kIirReceivedData = 0x04;
constexpr uint8_t kIirFifosEnabled = 0xc0;

constexpr uint8_t kFcrEnableFifos = 0x01;
constexpr uint8_t kFcrClearReceiveFifo = 0x02;

constexpr uint8_t kLcrDivisorLatch = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoopback = 0x10;
constexpr uint8_t kMcrWritable = 0x1f;

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrTransmitterEmpty = 0x60;  // THRE | TEMT

constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRing = 0x40;
constexpr uint8_t kMsrCarrier = 0x80;
// A terminal is attached and ready: CTS, DSR and DCD, as QEMU's serial port says.
constexpr uint8_t kMsrConnected = kMsrCts | kMsrDsr | kMsrCarrier;

}  // namespace

SerialPort::SerialPort(ConsoleOutput& console, InterruptLine interrupt_line)
    : console_(console), interrupt_line_(std::move(interrupt_line)) {}

bool SerialPort::DivisorLatchSelected() const { return (line_control_ & kLcrDivisorLatch) != 0; }

bool SerialPort::Loopback() const { return (modem_control_ & kMcrLoopback) != 0; }

uint8_t SerialPort::PendingInterrupt() const {
  // In the 16550's priority order; no line status or modem status interrupt ever arises here.
  if (received_ && (interrupt_enable_ & kIerReceivedData)) return kIirReceivedData;
  if (transmitter_interrupt_ && (interrupt_enable_ & kIerTransmitterEmpty)) {
    return kIirTransmitterEmpty;
  }
  return kIirNonePending;
}

uint8_t SerialPort::ModemStatus() const {
  if (!Loopback()) return kMsrConnected;
  // Loopback wires the modem outputs to the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
  uint8_t status = 0;
  if (modem_control_ & kMcrRts) status |= kMsrCts;
  if (modem_control_ & kMcrDtr) status |= kMsrDsr;
  if (modem_control_ & kMcrOut1) status |= kMsrRing;
  if (modem_control_ & kMcrOut2) status |= kMsrCarrier;
  return status;
}

void SerialPort::Transmit(uint8_t byte) {
  if (Loopback()) {
    receive_buffer_ = byte;  // a second byte before a read overwrites the first
    received_ = true;
  } else {
    console_.PutGuestByte(byte);
  }
  // Sent at once: the holding register is empty again, which is a new THRE interrupt.
  transmitter_interrupt_ = true;
}

void SerialPort::UpdateInterruptLine() {
  const bool asserted = PendingInterrupt() != kIirNonePending;
  if (asserted == line_asserted_) return;
  line_asserted_ = asserted;
  if (interrupt_line_) interrupt_line_(asserted);
}

uint8_t SerialPort::Read(uint16_t offset) {
  std::lock_guard lock(mutex_);
  uint8_t value = 0;
  switch (offset) {
    case kData:
      if (DivisorLatchSelected()) {
        value = static_cast<uint8_t>(divisor_);
      } else if (received_) {
        value = receive_buffer_;
        received_ = false;
      }  // nothing received: 0
      break;
    case kInterruptEnable:
      value = DivisorLatchSelected() ? static_cast<uint8_t>(divisor_ >> 8) : interrupt_enable_;
      break;
    case kInterruptId:
      value = PendingInterrupt();
      // Reading IIR while it names THRE is what acknowledges that interrupt.
      if (value == kIirTransmitterEmpty) transmitter_interrupt_ = false;
      if (fifo_enabled_) value |= kIirFifosEnabled;
      break;
    case kLineControl: value = line_control_; break;
    case kModemControl: value = modem_control_; break;
    case kLineStatus: value = kLsrTransmitterEmpty | (received_ ? kLsrDataReady : 0); break;
    case kModemStatus: value = ModemStatus(); break;
    case kScratch: value = scratch_; break;
    default: break;
  }
  UpdateInterruptLine();
  return value;
}

void SerialPort::Write(uint16_t offset, uint8_t value) {
  std::lock_guard lock(mutex_);
  switch (offset) {
    case kData:
      if (DivisorLatchSelected()) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
      } else {
        Transmit(value);
      }
      break;
    case kInterruptEnable:
      if (DivisorLatchSelected()) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
      } else {
        const uint8_t enabled = value & kIerWritable;
        // Enabling THRE with the holding register empty (it always is) raises it at once; the
        // 8250 driver's start-up test and its transmit path both count on that.
        if ((enabled & kIerTransmitterEmpty) && !(interrupt_enable_ & kIerTransmitterEmpty)) {
          transmitter_interrupt_ = true;
        } else if (!(enabled & kIerTransmitterEmpty)) {
          transmitter_interrupt_ = false;
        }
        interrupt_enable_ = enabled;
      }
      break;
    case kInterruptId:  // FCR
      if (((value & kFcrEnableFifos) != 0) != fifo_enabled_ || (value & kFcrClearReceiveFifo)) {
        received_ = false;  // toggling the FIFOs resets them
      }
      fifo_enabled_ = (value & kFcrEnableFifos) != 0;
      break;
    case kLineControl: line_control_ = value; break;
    case kModemControl: modem_control_ = value & kMcrWritable; break;
    case kScratch: scratch_ = value; break;
    default: break;  // LSR and MSR writes (factory test) are ignored
  }
  UpdateInterruptLine();
}

}  // namespace pvops::vmm
