/* SPDX-License-Identifier: MIT */
// The L1 kernel's trace buffer as a flight recorder: the kvm environment's /init turns on KVM's
// own tracepoints (exits, injected interrupts and exceptions) into a small ring, and a run that
// ends in a fault prints its last lines. On AMD, KVM re-initialises a vCPU after a triple fault,
// so the exits that led up to it are the only record of where the guest was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvops::vmm {

// Where the kvm environment's /init mounts tracefs, and how much of its ring a fault prints.
inline constexpr char kL1Tracefs[] = "/sys/kernel/tracing";
inline constexpr size_t kL1TraceLinesOnFault = 40;
// The instance that records only the guest's clock (master clock, kvmclock tuples), and how
// much of it a run that did not pass prints.
inline constexpr char kL1ClockTracefs[] = "/sys/kernel/tracing/instances/pvops-clock";
inline constexpr size_t kL1ClockTraceLines = 60;

// Stops the trace (so the ring holds still) and returns its last `lines` event lines, oldest
// first, read from `tracefs`. Empty when tracing is off or not mounted.
std::vector<std::string> StopTraceAndTail(const std::string& tracefs, size_t lines);

// The L1 kernel's own messages about its clock ("clocksource", "tsc", "TSC": a TSC marked
// unstable turns KVM's master clock off), read from `kmsg` (/dev/kmsg) without waiting.
std::vector<std::string> KernelClockMessages(const std::string& kmsg);

// One /dev/kmsg record ("prio,seq,usec,flags;text") as "[usec] text"; nullopt unless it is
// about the clock.
std::optional<std::string> KernelClockMessage(std::string_view record);

// A vCPU's shutdown exit as kvm:kvm_exit printed it: where the guest was, and the event it was
// delivering (SVM's EXITINTINFO, VMX's IDT-vectoring info: bit 31 valid, type in bits 8-10,
// vector in bits 0-7).
struct ShutdownExit {
  uint64_t rip = 0;
  uint32_t delivering = 0;
};

// The last shutdown exit of `vcpu` in the trace lines, if there is one.
std::optional<ShutdownExit> LastShutdownExit(const std::vector<std::string>& lines, uint32_t vcpu);

// "vector 6 (exception)", or "no event" when the valid bit is clear.
std::string DescribeDeliveredEvent(uint32_t info);

}  // namespace pvops::vmm
