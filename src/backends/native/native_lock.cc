// Paravirtual spinlock hooks, natively: a vCPU is never descheduled behind our back, so waiting
// is one pause and there is nobody to kick.
#include "arch/x86/arch.h"
#include "backends/native/native.h"

namespace pvops::native {

void LockWait(const volatile uint8_t*, uint8_t) { arch::pause(); }
void LockKick(uint32_t) {}
int VcpuIsPreempted(uint32_t) { return 0; }

}  // namespace pvops::native
