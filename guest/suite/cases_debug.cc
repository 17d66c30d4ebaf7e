// SPDX-License-Identifier: MIT
// debug.*: deliberately broken runs, for the runner's own tests. Never selected by default.
#include <pvops/pvops.hpp>

#include "kernel/deadline.h"
#include "kernel/smp.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

// PML4 slot 128: never mapped by the guest, canonical, so the access is a #PF and not a #GP.
constexpr uint64_t kUnmappedVa = 0x0000400000000000;

void TouchUnmapped(void*) { (void)*reinterpret_cast<const volatile uint64_t*>(kUnmappedVa); }

}  // namespace

Result DebugFaultUnmapped() {
  Note("reading unmapped VA 0x%lx: expect a FAULT line for vector 14 and exit code 0x12",
       kUnmappedVa);
  const uint64_t value = *reinterpret_cast<const volatile uint64_t*>(kUnmappedVa);
  return Result::Fail("reading unmapped VA 0x%lx returned 0x%lx instead of faulting", kUnmappedVa,
                      value);
}

Result DebugFaultOnCpu1() {
  if (!CpuOnline(1)) return Result::Skip("needs 2 vCPUs, have %u", OnlineCpus());
  Note("cpu 1 reads unmapped VA 0x%lx: expect a FAULT line with cpu=1 and exit code 0x12",
       kUnmappedVa);
  if (!PostWork(1, TouchUnmapped, nullptr)) return Result::Fail("cpu 1 is busy");
  // The fault ends the run from cpu 1; reaching the end of this wait means it did not.
  (void)WaitForWork(1, 2 * kNsPerSec);
  return Result::Fail("cpu 1 read unmapped VA 0x%lx without faulting", kUnmappedVa);
}

Result DebugTripleFault() {
  Note("loading an empty IDT, then ud2: expect a triple fault, which only the hypervisor sees");
  // Interrupts off first: with no IDT any interrupt would end the run the same way, elsewhere.
  pvops::IrqDisable();
  const struct [[gnu::packed]] {
    uint16_t limit;
    uint64_t base;
  } empty{0, 0};
  asm volatile("lidt %0\n\tud2" : : "m"(empty));
  __builtin_unreachable();
}

Result DebugHang() {
  Note("hanging on purpose: only the runner's timeout ends this run");
  for (;;) asm volatile("pause");
}

}  // namespace guest::suite
