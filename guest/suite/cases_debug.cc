// debug.*: deliberately broken runs, for the runner's own tests. Never selected by default.
#include <pvops/pvops.hpp>

#include "suite/cases.h"

namespace guest::suite {
namespace {

// PML4 slot 128: never mapped by the guest, canonical, so the access is a #PF and not a #GP.
constexpr uint64_t kUnmappedVa = 0x0000400000000000;

}  // namespace

Result DebugFaultUnmapped() {
  Note("reading unmapped VA 0x%lx: expect a FAULT line for vector 14 and exit code 0x12",
       kUnmappedVa);
  const uint64_t value = *reinterpret_cast<const volatile uint64_t*>(kUnmappedVa);
  return Result::Fail("reading unmapped VA 0x%lx returned 0x%lx instead of faulting", kUnmappedVa,
                      value);
}

Result DebugHang() {
  Note("hanging on purpose: only the runner's timeout ends this run");
  for (;;) asm volatile("pause");
}

}  // namespace guest::suite
