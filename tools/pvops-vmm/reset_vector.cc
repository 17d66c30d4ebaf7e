// SPDX-License-Identifier: MIT
#include "reset_vector.h"

#include <cstring>

#include "pc_platform.h"

namespace pvops::vmm {
namespace {

// 16-bit (real-mode) encodings.
constexpr uint8_t kMovDxImm16 = 0xba;
constexpr uint8_t kMovAlImm8 = 0xb0;
constexpr uint8_t kOutDxAl = 0xee;
constexpr uint8_t kHlt = 0xf4;
constexpr uint8_t kJmpShort = 0xeb;

}  // namespace

std::vector<uint8_t> ResetVectorCode() {
  std::vector<uint8_t> code;
  code.insert(code.end(), {kMovDxImm16, kResetControlPort & 0xff, kResetControlPort >> 8});
  code.insert(code.end(), {kMovAlImm8, kAcpiResetValue});
  code.push_back(kOutDxAl);
  code.push_back(kHlt);  // should the write ever return: halt for good
  code.insert(code.end(), {kJmpShort, static_cast<uint8_t>(-3)});  // back to the hlt
  return code;
}

void WriteResetVector(GuestMemory& memory) {
  const std::vector<uint8_t> code = ResetVectorCode();
  static_assert(kResetVectorEnd - kResetVectorAddress == 16);
  auto destination = memory.At(kResetVectorAddress, kResetVectorEnd - kResetVectorAddress);
  std::memset(destination.data(), 0, destination.size());
  std::memcpy(destination.data(), code.data(), code.size());
}

}  // namespace pvops::vmm
