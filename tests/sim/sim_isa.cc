#include "sim_isa.h"

#include <unistd.h>

#include <cstdio>

#include <linux/serial_reg.h>

namespace pvops::sim {
namespace {

uint8_t Bcd(int value) { return static_cast<uint8_t>((value / 10) << 4 | (value % 10)); }

}  // namespace

SimUart::SimUart(SimCpu& cpu, uint16_t base) {
  cpu.HandlePorts(
      base, static_cast<uint16_t>(base + 7),
      [this, base](uint16_t port, uint8_t) -> uint32_t {
        if (port != base + UART_LSR) return 0;
        ++lsr_reads_;
        if (stuck_) return 0;
        if (busy_reads_ > 0) {
          --busy_reads_;
          return 0;
        }
        return UART_LSR_THRE | UART_LSR_TEMT;
      },
      [this, base](uint16_t port, uint8_t, uint32_t value) {
        if (port != base + UART_TX) return;
        output_.push_back(static_cast<char>(value));
        busy_reads_ = busy_reads_per_byte_;
      });
}

SimDebugExit::SimDebugExit(SimCpu& cpu, uint16_t port) {
  cpu.HandlePorts(port, static_cast<uint16_t>(port + 3), nullptr,
                  [](uint16_t, uint8_t, uint32_t value) {
                    std::fflush(stdout);
                    _exit(static_cast<int>(((value << 1) | 1) & 0xff));
                  });
}

SimCmosRtc::SimCmosRtc(SimCpu& cpu) {
  cpu.HandlePorts(
      0x70, 0x71,
      [this](uint16_t port, uint8_t) -> uint32_t {
        if (port == 0x70) return 0xff;  // the index port is write-only
        if (on_read_) on_read_(index_);
        uint8_t value = regs_[index_];
        if (index_ == 0x0a) {
          value &= 0x7f;
          if (uip_reads_ > 0) {
            --uip_reads_;
            value |= 0x80;
          }
        }
        return value;
      },
      [this](uint16_t port, uint8_t, uint32_t value) {
        if (port == 0x70) {
          index_ = value & 0x7f;  // bit 7 is the NMI mask, not part of the index
        } else {
          regs_[index_] = static_cast<uint8_t>(value);
        }
      });
}

void SimCmosRtc::SetBcdTime(int year, int month, int day, int hour, int minute, int second) {
  regs_[0x00] = Bcd(second);
  regs_[0x02] = Bcd(minute);
  regs_[0x04] = Bcd(hour);
  regs_[0x07] = Bcd(day);
  regs_[0x08] = Bcd(month);
  regs_[0x09] = Bcd(year % 100);
  regs_[0x32] = Bcd(year / 100);
  regs_[0x0b] = 0x02;  // 24-hour, BCD
}

SimPit::SimPit(SimCpu& cpu, uint64_t tsc_khz) : cpu_(cpu), tsc_khz_(tsc_khz) {
  cpu.HandlePorts(
      0x42, 0x43, nullptr, [this](uint16_t port, uint8_t, uint32_t value) {
        if (port == 0x43) {
          if ((value >> 6) == 2) {  // channel 2
            mode_ = static_cast<uint8_t>(value);
            bytes_loaded_ = 0;
            counting_ = false;
          }
          return;
        }
        latch_ = bytes_loaded_ == 0 ? (value & 0xff) : (latch_ | (value & 0xff) << 8);
        if (++bytes_loaded_ == 2) {
          counting_ = true;
          start_tsc_ = cpu_.tsc();
        }
      });
  cpu.HandlePorts(
      0x61, 0x61,
      [this](uint16_t, uint8_t) -> uint32_t {
        return (port_b_ & 0x0f) | (Out2() ? 0x20 : 0);
      },
      [this](uint16_t, uint8_t, uint32_t value) { port_b_ = static_cast<uint8_t>(value); });
}

// Mode 0: OUT low from the command write, high at terminal count; counts only while gated.
bool SimPit::Out2() const {
  if (!counting_ || (port_b_ & 1) == 0) return false;
  const uint64_t pit_ticks = (cpu_.tsc() - start_tsc_) * kPitHz / (tsc_khz_ * 1000);
  return pit_ticks >= latch_;
}

}  // namespace pvops::sim
