// SPDX-License-Identifier: MIT
// A build without suspend and resume (PVOPS_MOVE off): the calls are there for a kernel that
// asks, and answer that this library cannot move; the clock has no offset to carry.
#include "core/move.h"

namespace pvops::core {

void ForgetMoves() {}
bool ClockOffsetCarried() { return false; }
uint64_t BackendTimeNs(uint64_t clock_ns) { return clock_ns; }

}  // namespace pvops::core

extern "C" pvops_status pvops_move_register(pvops_move_mailbox*, uint8_t) {
  return PVOPS_ERR_UNSUPPORTED;
}
extern "C" int pvops_move_pending(void) { return 0; }
extern "C" pvops_status pvops_move_ask(void) { return PVOPS_ERR_UNSUPPORTED; }
extern "C" int pvops_move_plan_done(void) { return 0; }
extern "C" pvops_status pvops_suspend(void) { return PVOPS_ERR_UNSUPPORTED; }
extern "C" pvops_status pvops_resume(void) { return PVOPS_ERR_UNSUPPORTED; }
