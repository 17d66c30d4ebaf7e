// SPDX-License-Identifier: MIT
#include "sim_isa.h"

#include <cstring>

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
      0x42, 0x43,
      [this](uint16_t port, uint8_t) -> uint32_t {
        if (port != 0x42) return 0xff;
        if (latched_bytes_left_ == 0) return 0xff;  // only latched reads are modelled
        const uint8_t byte = latched_bytes_left_ == 2 ? latched_ & 0xff : latched_ >> 8;
        --latched_bytes_left_;
        return byte;
      },
      [this](uint16_t port, uint8_t, uint32_t value) {
        if (port == 0x43) {
          if ((value >> 6) != 2) return;  // channel 2 only
          if ((value & 0x30) == 0) {      // counter latch
            latched_ = static_cast<uint16_t>(Count());
            latched_bytes_left_ = 2;
            ++latches_;
            return;
          }
          mode_ = static_cast<uint8_t>(value);
          bytes_loaded_ = 0;
          counting_ = false;
          return;
        }
        reload_ = bytes_loaded_ == 0 ? (value & 0xff) : (reload_ | (value & 0xff) << 8);
        if (++bytes_loaded_ == 2) {
          counting_ = true;
          start_tsc_ = cpu_.tsc();
        }
      });
  cpu.HandlePorts(
      0x61, 0x61, [this](uint16_t, uint8_t) -> uint32_t { return port_b_ & 0x0f; },
      [this](uint16_t, uint8_t, uint32_t value) { port_b_ = static_cast<uint8_t>(value); });
}

// Mode 2 down-counting while gated; the count the chip would latch now.
uint32_t SimPit::Count() const {
  if (!counting_ || (port_b_ & 1) == 0) return reload_ & 0xffff;
  const uint64_t period = reload_ == 0 ? 65536 : reload_;
  const uint64_t ticks = static_cast<uint64_t>(
      static_cast<unsigned __int128>(cpu_.tsc() - start_tsc_) * kPitHz / (tsc_khz_ * 1000));
  return static_cast<uint32_t>((period - ticks % period) & 0xffff);
}

SimPmTimer::SimPmTimer(SimCpu& cpu, uint16_t port, uint64_t tsc_khz, bool extended)
    : cpu_(cpu), tsc_khz_(tsc_khz), mask_(extended ? 0xffffffffu : 0x00ffffffu) {
  cpu.HandlePorts(
      port, static_cast<uint16_t>(port + 3),
      [this](uint16_t, uint8_t) -> uint32_t {
        if (on_read_) on_read_();
        ++reads_;
        const uint64_t ticks = static_cast<uint64_t>(static_cast<unsigned __int128>(cpu_.tsc()) *
                                                     kHz / (tsc_khz_ * 1000));
        return static_cast<uint32_t>(ticks) & mask_;
      },
      nullptr);
}

namespace {

void PutLe(uint8_t* p, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

void PutHeader(uint8_t* p, const char* sig, uint32_t length, uint8_t revision) {
  std::memcpy(p, sig, 4);
  PutLe(p + 4, length, 4);
  p[8] = revision;
  std::memcpy(p + 10, "PVOPS ", 6);
}

uint8_t Checksum(const uint8_t* p, size_t length, size_t checksum_offset) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; ++i)
    if (i != checksum_offset) sum = static_cast<uint8_t>(sum + p[i]);
  return static_cast<uint8_t>(-sum);
}

constexpr uint32_t kFadtLength = 276;  // ACPI 6.x FADT

}  // namespace

SimAcpiTables::SimAcpiTables(SimCpu& cpu, const Options& options)
    : options_(options), bios_area_(0x20000), tables_(0x1000) {
  const bool xsdt = options.use_xsdt;
  // Root table: one entry, the FADT.
  const uint32_t root_length = 36 + (xsdt ? 8 : 4);
  PutHeader(&tables_[kRootOffset], xsdt ? "XSDT" : "RSDT", root_length, 1);
  PutLe(&tables_[kRootOffset + 36], kTablesPhys + kFadtOffset, xsdt ? 8 : 4);
  uint8_t* fadt = &tables_[kFadtOffset];
  PutHeader(fadt, "FACP", kFadtLength, 6);
  uint32_t flags = 0;
  if (options.timer_32bit) flags |= 1u << 8;
  if (options.hardware_reduced) flags |= 1u << 20;
  PutLe(fadt + 112, flags, 4);
  if (options.x_pm_timer_block) {
    fadt[208] = 1;   // system I/O
    fadt[209] = 32;  // bit width
    PutLe(fadt + 212, options.pm_timer_port, 8);
  } else {
    PutLe(fadt + 76, options.pm_timer_port, 4);
    fadt[91] = 4;
  }
  // RSDP.
  std::memcpy(rsdp_.data(), "RSD PTR ", 8);
  std::memcpy(rsdp_.data() + 9, "PVOPS ", 6);
  rsdp_[15] = xsdt ? 2 : 0;
  if (!xsdt) PutLe(&rsdp_[16], kTablesPhys + kRootOffset, 4);
  PutLe(&rsdp_[20], 36, 4);
  if (xsdt) PutLe(&rsdp_[24], kTablesPhys + kRootOffset, 8);
  FixChecksums();
  cpu.MapPhys(kTablesPhys, tables_.data(), tables_.size());
  if (options.rsdp_phys >= 0xe0000 && options.rsdp_phys + 36 <= 0x100000) {
    cpu.MapPhys(0xe0000, bios_area_.data(), bios_area_.size());
  } else {
    rsdp_page_.resize(0x1000);
    cpu.MapPhys(options.rsdp_phys & ~uint64_t{0xfff}, rsdp_page_.data(), rsdp_page_.size());
  }
  FixChecksums();
}

void SimAcpiTables::FixChecksums() {
  const bool xsdt = options_.use_xsdt;
  tables_[kRootOffset + 9] = Checksum(&tables_[kRootOffset], 36 + (xsdt ? 8 : 4), 9);
  tables_[kFadtOffset + 9] = Checksum(&tables_[kFadtOffset], kFadtLength, 9);
  rsdp_[8] = Checksum(rsdp_.data(), 20, 8);
  if (xsdt) rsdp_[32] = Checksum(rsdp_.data(), 36, 32);
  // The RSDP lives where the firmware put it.
  uint8_t* where = nullptr;
  if (!rsdp_page_.empty()) {
    where = &rsdp_page_[options_.rsdp_phys & 0xfff];
  } else if (!bios_area_.empty()) {
    where = &bios_area_[options_.rsdp_phys - 0xe0000];
  }
  if (where != nullptr) std::memcpy(where, rsdp_.data(), xsdt ? 36 : 20);
}

}  // namespace pvops::sim
