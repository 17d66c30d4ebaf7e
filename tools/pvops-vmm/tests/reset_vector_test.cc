// SPDX-License-Identifier: MIT
#include "reset_vector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <variant>

#include "port_io_devices.h"

namespace pvops::vmm {
namespace {

TEST(ResetVector, RealModeCodeWritesTheResetRegister) {
  // mov dx, imm16; mov al, imm8; out dx, al; hlt; jmp short to the hlt.
  const std::vector<uint8_t> code = ResetVectorCode();
  ASSERT_EQ(code.size(), 9u);
  EXPECT_EQ(code[0], 0xba);
  const uint16_t port = static_cast<uint16_t>(code[1] | code[2] << 8);
  EXPECT_EQ(code[3], 0xb0);
  uint8_t value = code[4];
  EXPECT_EQ(code[5], 0xee);
  EXPECT_EQ(code[6], 0xf4);
  EXPECT_EQ(code[7], 0xeb);
  EXPECT_EQ(static_cast<int8_t>(code[8]), -3) << "from the end of the jmp back to the hlt";
  // What the code writes is what the port devices take as a reset.
  ConsoleOutput console(-1);
  PortIoDevices devices(console);
  const auto request = devices.Access(port, true, {&value, 1});
  ASSERT_TRUE(request.has_value());
  ASSERT_TRUE(std::holds_alternative<MachineStopRequest>(*request));
  EXPECT_FALSE(std::get<MachineStopRequest>(*request).power_off);
}

TEST(ResetVector, SitsAtF000Fff0WithinTheLastBiosParagraphs) {
  GuestMemory memory(2 << 20);
  auto vector = memory.At(kResetVectorAddress, 16);
  std::fill(vector.begin(), vector.end(), 0xcc);
  WriteResetVector(memory);
  const std::vector<uint8_t> code = ResetVectorCode();
  EXPECT_TRUE(std::equal(code.begin(), code.end(), vector.begin()));
  EXPECT_TRUE(std::all_of(vector.begin() + static_cast<long>(code.size()), vector.end(),
                          [](uint8_t byte) { return byte == 0; }));
  EXPECT_EQ(kResetVectorAddress, (0xf000u << 4) + 0xfff0u);
}

}  // namespace
}  // namespace pvops::vmm
