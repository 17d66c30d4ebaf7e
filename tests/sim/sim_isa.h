// The legacy PC devices guests poke at early: a 16550 UART, the CMOS RTC, PIT channel 2 with
// port 0x61, and QEMU's isa-debug-exit. Each attaches to a SimCpu's port space.
#pragma once

#include <stdint.h>

#include <array>
#include <string>

#include "sim_cpu.h"

namespace pvops::sim {

// A 16550 that captures what is transmitted. The line status register reports the transmitter
// busy for a scriptable number of reads before each byte.
class SimUart {
 public:
  explicit SimUart(SimCpu& cpu, uint16_t base = 0x3f8);
  const std::string& output() const { return output_; }
  void SetBusyReadsPerByte(uint32_t reads) { busy_reads_per_byte_ = busy_reads_ = reads; }
  // Never drains: the transmitter stays busy forever.
  void SetStuck(bool stuck) { stuck_ = stuck; }
  uint32_t lsr_reads() const { return lsr_reads_; }

 private:
  std::string output_;
  uint32_t busy_reads_per_byte_ = 0;
  uint32_t busy_reads_ = 0;
  bool stuck_ = false;
  uint32_t lsr_reads_ = 0;
};

// QEMU's isa-debug-exit: a write ends the process with (value << 1) | 1, as QEMU exits.
class SimDebugExit {
 public:
  explicit SimDebugExit(SimCpu& cpu, uint16_t port = 0xf4);
};

// The MC146818 CMOS: an index port (0x70) and a data port (0x71) over 128 registers. Status
// register A's update-in-progress bit reads set for a scriptable number of reads.
class SimCmosRtc {
 public:
  explicit SimCmosRtc(SimCpu& cpu);
  void Set(uint8_t reg, uint8_t value) { regs_.at(reg & 0x7f) = value; }
  uint8_t Get(uint8_t reg) const { return regs_.at(reg & 0x7f); }
  // Fills the time registers in BCD, 24-hour mode, century at 0x32.
  void SetBcdTime(int year, int month, int day, int hour, int minute, int second);
  void SetUpdateInProgressReads(uint32_t reads) { uip_reads_ = reads; }
  // Called on every data-port read (e.g. to make the seconds tick between two reads).
  void OnRead(std::function<void(uint8_t reg)> hook) { on_read_ = std::move(hook); }

 private:
  std::array<uint8_t, 128> regs_{};
  uint8_t index_ = 0;
  uint32_t uip_reads_ = 0;
  std::function<void(uint8_t reg)> on_read_;
};

// PIT channel 2 in mode 0 as the TSC-calibration code uses it: gate and speaker bits in port
// 0x61, OUT2 read back in bit 5 once `latch` PIT ticks (1.193182 MHz) have passed, measured on
// the simulated TSC running at `tsc_khz`.
class SimPit {
 public:
  SimPit(SimCpu& cpu, uint64_t tsc_khz);
  static constexpr uint64_t kPitHz = 1'193'182;
  uint32_t latch() const { return latch_; }

 private:
  bool Out2() const;

  SimCpu& cpu_;
  uint64_t tsc_khz_;
  uint8_t port_b_ = 0;
  uint8_t mode_ = 0;
  uint32_t latch_ = 0;
  int bytes_loaded_ = 0;
  bool counting_ = false;
  uint64_t start_tsc_ = 0;
};

}  // namespace pvops::sim
