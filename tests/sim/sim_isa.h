/* SPDX-License-Identifier: MIT */
// The legacy PC devices guests poke at early: a 16550 UART, the CMOS RTC, PIT channel 2 with
// port 0x61, and QEMU's isa-debug-exit. Each attaches to a SimCpu's port space.
#pragma once

#include <stdint.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

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

// PIT channel 2 as TSC calibration uses it: programmed through port 0x43/0x42, gated by port
// 0x61 bit 0, read back through the counter-latch command. Mode 2 counts down from the reload
// (0 = 65536) at 1.193182 MHz of simulated time, the simulated TSC running at `tsc_khz`.
class SimPit {
 public:
  SimPit(SimCpu& cpu, uint64_t tsc_khz);
  static constexpr uint64_t kPitHz = 1'193'182;
  uint8_t mode_command() const { return mode_; }
  uint32_t reload() const { return reload_; }
  uint32_t latches() const { return latches_; }

 private:
  uint32_t Count() const;

  SimCpu& cpu_;
  uint64_t tsc_khz_;
  uint8_t port_b_ = 0;
  uint8_t mode_ = 0;
  uint32_t reload_ = 0;
  int bytes_loaded_ = 0;
  bool counting_ = false;
  uint64_t start_tsc_ = 0;
  uint16_t latched_ = 0;
  int latched_bytes_left_ = 0;
  uint32_t latches_ = 0;
};

// The ACPI PM timer: a 24-bit (or 32-bit) up-counter at 3.579545 MHz of simulated time, read
// as a 32-bit port. `on_read` runs before each read samples the time (a test adds exit cost
// there, or jitter).
class SimPmTimer {
 public:
  SimPmTimer(SimCpu& cpu, uint16_t port, uint64_t tsc_khz, bool extended = false);
  static constexpr uint64_t kHz = 3'579'545;
  void OnRead(std::function<void()> hook) { on_read_ = std::move(hook); }
  uint32_t reads() const { return reads_; }

 private:
  SimCpu& cpu_;
  uint64_t tsc_khz_;
  uint32_t mask_;
  std::function<void()> on_read_;
  uint32_t reads_ = 0;
};

// Firmware ACPI tables in simulated guest-physical memory: an RSDP in the BIOS area (or at an
// address a PVH start_info names), an RSDT or XSDT, and a FADT whose PM timer block is `port`.
// Tests corrupt fields through the accessors, then FixChecksums() (or not).
class SimAcpiTables {
 public:
  struct Options {
    uint16_t pm_timer_port = 0x608;
    bool timer_32bit = false;
    bool use_xsdt = false;          // ACPI 2.0 RSDP with an XSDT (else 1.0 with an RSDT)
    bool x_pm_timer_block = false;  // the FADT's 64-bit X_PM_TMR_BLK instead of PM_TMR_BLK
    bool hardware_reduced = false;
    uint64_t rsdp_phys = 0xf6a20;  // in the BIOS area the ACPI spec names
  };
  SimAcpiTables(SimCpu& cpu, const Options& options);
  static constexpr uint64_t kTablesPhys = 0x7fe0000;
  uint64_t rsdp_phys() const { return options_.rsdp_phys; }
  // Byte access to the tables (offset from kTablesPhys) and the RSDP.
  uint8_t* tables() { return tables_.data(); }
  uint8_t* rsdp() { return rsdp_.data(); }
  static constexpr uint32_t kRootOffset = 0;
  static constexpr uint32_t kFadtOffset = 0x100;
  void FixChecksums();

 private:
  Options options_;
  std::vector<uint8_t> bios_area_;  // 0xe0000..0xfffff
  std::vector<uint8_t> tables_;
  std::array<uint8_t, 36> rsdp_{};
  std::vector<uint8_t> rsdp_page_;
};

}  // namespace pvops::sim
