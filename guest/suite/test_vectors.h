/* SPDX-License-Identifier: MIT */
// Interrupt vectors the cases route to their own handlers: one per case so a late interrupt of
// one case can never be counted by the next. Below the library's own (0xfd TLB flush, 0xff
// spurious) and above the 8259's remapped 0x20-0x2f.
#pragma once

#include <stdint.h>

namespace guest::suite {

inline constexpr uint8_t kVectorEoiTest = 0x40;
inline constexpr uint8_t kVectorIpiTest = 0x41;
inline constexpr uint8_t kVectorTimerTest = 0x42;
inline constexpr uint8_t kVectorTimerCancelTest = 0x43;
inline constexpr uint8_t kVectorSafeHaltWake = 0x44;
inline constexpr uint8_t kVectorSafeHaltWatchdog = 0x45;
inline constexpr uint8_t kVectorReferenceWake = 0x46;
inline constexpr uint8_t kVectorDeliveredOnceTest = 0x47;
inline constexpr uint8_t kVectorDeliveredOnceLoad = 0x48;
inline constexpr uint8_t kVectorMoveTimer = 0x49;
// The mover raises this for a move request (pvops_move_register).
inline constexpr uint8_t kVectorMoveRequest = 0x4a;

}  // namespace guest::suite
