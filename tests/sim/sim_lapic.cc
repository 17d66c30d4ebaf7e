// SPDX-License-Identifier: MIT
#include "sim_lapic.h"

#include <gtest/gtest.h>

namespace pvops::sim {
namespace {

// xAPIC offsets (SDM table 10-1); x2APIC MSR = 0x800 + offset / 16.
constexpr uint32_t kId = 0x20;
constexpr uint32_t kVersion = 0x30;
constexpr uint32_t kTpr = 0x80;
constexpr uint32_t kEoi = 0xb0;
constexpr uint32_t kSvr = 0xf0;
constexpr uint32_t kIcrLow = 0x300;
constexpr uint32_t kIcrHigh = 0x310;
constexpr uint32_t kLvtTimer = 0x320;
constexpr uint32_t kInitialCount = 0x380;
constexpr uint32_t kCurrentCount = 0x390;
constexpr uint32_t kDivide = 0x3e0;
constexpr uint32_t kDeliveryPending = 1u << 12;
constexpr uint32_t kX2apicFirstMsr = 0x800;
constexpr uint32_t kX2apicLastMsr = 0x8ff;
constexpr uint64_t kBaseBsp = 1u << 8;
constexpr uint64_t kBaseX2apic = 1u << 10;
constexpr uint64_t kBaseEnable = 1u << 11;
constexpr uint32_t kLapicVersion = 0x00050014;  // version 0x14, 6 LVT entries

}  // namespace

uint32_t SimLapic::Divisor(uint32_t divide_config) {
  const uint32_t code = (divide_config & 3) | ((divide_config & 8) >> 1);
  return code == 7 ? 1 : 2u << code;
}

SimLapic::SimLapic(SimCpu& cpu, const Options& options) : cpu_(cpu), options_(options) {
  for (uint32_t i = 0; i < kMaxCpus; ++i) regs_[i].id = i;

  cpu_.HandleMsrs(
      kMsrApicBase, kMsrApicBase,
      [this](uint32_t) -> std::optional<uint64_t> {
        return options_.base | (options_.globally_enabled ? kBaseEnable : 0) |
               (options_.x2apic ? kBaseX2apic : 0) | (cpu_.current_cpu() == 0 ? kBaseBsp : 0);
      },
      [this](uint32_t, uint64_t value) {
        options_.x2apic = (value & kBaseX2apic) != 0;
        options_.globally_enabled = (value & kBaseEnable) != 0;
        return true;
      });

  // The x2APIC MSRs exist only in x2APIC mode (#GP otherwise, SDM 10.12.1.2).
  cpu_.HandleMsrs(
      kX2apicFirstMsr, kX2apicLastMsr,
      [this](uint32_t msr) -> std::optional<uint64_t> {
        if (!options_.x2apic) return std::nullopt;
        const uint32_t offset = (msr - kX2apicFirstMsr) * 16;
        if (offset == kIcrLow) return uint64_t{here().icr_high} << 32 | here().icr_low;
        return ReadRegister(offset);
      },
      [this](uint32_t msr, uint64_t value) {
        if (!options_.x2apic) return false;
        const uint32_t offset = (msr - kX2apicFirstMsr) * 16;
        if (offset == kIcrLow) {
          here().icr_high = static_cast<uint32_t>(value >> 32);
          here().icr_low = static_cast<uint32_t>(value);
          Send(here().icr_high, here().icr_low);
          return true;
        }
        if (offset == kIcrHigh || offset == kId) return false;  // absent / read-only in x2APIC
        WriteRegister(offset, static_cast<uint32_t>(value));
        return true;
      });

  cpu_.HandleMsrs(
      kMsrTscDeadline, kMsrTscDeadline,
      [this](uint32_t) -> std::optional<uint64_t> {
        if (!options_.tsc_deadline_msr) return std::nullopt;
        return here().tsc_deadline;
      },
      [this](uint32_t, uint64_t value) {
        if (!options_.tsc_deadline_msr) return false;
        here().tsc_deadline = value;
        return true;
      });

  cpu_.MapMmio(
      page_, sizeof(page_),
      [this](uint64_t offset) -> uint32_t {
        if (options_.x2apic) {
          ADD_FAILURE() << "xAPIC MMIO read at 0x" << std::hex << offset << " in x2APIC mode";
          return 0xffffffff;
        }
        return ReadRegister(static_cast<uint32_t>(offset));
      },
      [this](uint64_t offset, uint32_t value) {
        if (options_.x2apic) {
          ADD_FAILURE() << "xAPIC MMIO write at 0x" << std::hex << offset << " in x2APIC mode";
          return;
        }
        if (offset == kIcrLow) {
          here().icr_low = value;
          Send(here().icr_high >> 24, value);
          return;
        }
        WriteRegister(static_cast<uint32_t>(offset), value);
      });
  cpu_.MapPhys(options_.base, page_, sizeof(page_));
}

uint32_t SimLapic::CurrentCount(const Registers& r) const {
  if (r.initial_count == 0) return 0;
  const uint64_t elapsed_tsc = cpu_.tsc() - r.armed_at_tsc;
  const uint64_t ticks = elapsed_tsc * options_.timer_ticks_per_tsc_num /
                         options_.timer_ticks_per_tsc_den / Divisor(r.divide);
  return ticks >= r.initial_count ? 0 : static_cast<uint32_t>(r.initial_count - ticks);
}

uint32_t SimLapic::ReadRegister(uint32_t offset) {
  Registers& r = here();
  switch (offset) {
    case kId: return options_.x2apic ? r.id : r.id << 24;
    case kVersion: return kLapicVersion;
    case kTpr: return r.tpr;
    case kSvr: return r.svr;
    case kIcrLow:
      if (r.pending_reads > 0) {
        --r.pending_reads;
        return r.icr_low | kDeliveryPending;
      }
      return r.icr_low & ~kDeliveryPending;
    case kIcrHigh: return r.icr_high;
    case kLvtTimer: return r.lvt_timer;
    case kInitialCount: return r.initial_count;
    case kCurrentCount: return CurrentCount(r);
    case kDivide: return r.divide;
    default: return 0;
  }
}

void SimLapic::WriteRegister(uint32_t offset, uint32_t value) {
  Registers& r = here();
  switch (offset) {
    case kTpr: r.tpr = value & 0xff; break;
    case kEoi: ++r.eois; break;
    case kSvr: r.svr = value; break;
    case kIcrHigh: r.icr_high = value; break;
    case kLvtTimer: r.lvt_timer = value; break;
    case kInitialCount:
      r.initial_count = value;
      r.armed_at_tsc = cpu_.tsc();
      break;
    case kDivide: r.divide = value & 0xb; break;
    default: ADD_FAILURE() << "write to LAPIC register 0x" << std::hex << offset;
  }
}

void SimLapic::Send(uint32_t destination, uint32_t icr_low) {
  here().pending_reads = pending_reads_per_ipi_;
  const SentIpi ipi{cpu_.current_cpu(), destination, icr_low, cpu_.tsc()};
  sent_.push_back(ipi);
  if (on_ipi_) on_ipi_(ipi);
}

}  // namespace pvops::sim
