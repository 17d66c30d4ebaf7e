// SPDX-License-Identifier: MIT
// The platform ops on PC ports: the COM1 console and leaving the machine through isa-debug-exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include "bare_metal_machine.h"

namespace pvops::test {
namespace {

class ConsoleAndExitTest : public BareMetalMachineTest {
 protected:
  void SetUp() override { Boot(); }
  sim::SimUart uart_{sim_};
};

TEST_F(ConsoleAndExitTest, ConsoleWritesTheBytesAsTheyAre) {
  const char text[] = "ok 1\nA\0B";
  pvops_console_write(text, sizeof(text) - 1);
  EXPECT_EQ(uart_.output(), std::string("ok 1\nA\0B", 8));  // no \r added, NUL passed on
  EXPECT_EQ(uart_.lsr_reads(), 8u);  // one status check per byte, each found room
}

TEST_F(ConsoleAndExitTest, ConsoleWaitsForTheTransmitterBeforeEachByte) {
  uart_.SetBusyReadsPerByte(3);
  pvops_console_write("xyz", 3);
  EXPECT_EQ(uart_.output(), "xyz");
  // Before each byte: three busy reads, then the one that finds room.
  EXPECT_EQ(uart_.lsr_reads(), 3u * 4);
}

TEST_F(ConsoleAndExitTest, AStuckUartCostsABoundedWaitPerByte) {
  uart_.SetStuck(true);
  pvops_console_write("ab", 2);
  EXPECT_EQ(uart_.output(), "ab");
  EXPECT_EQ(uart_.lsr_reads(), 2u * 0x10000);  // the bound in hw/console_and_exit.cc
}

TEST_F(ConsoleAndExitTest, ConsoleIgnoresNullText) {
  pvops_console_write(nullptr, 5);
  EXPECT_EQ(uart_.output(), "");
  EXPECT_EQ(uart_.lsr_reads(), 0u);
}

using ConsoleAndExitDeathTest = ConsoleAndExitTest;

TEST_F(ConsoleAndExitDeathTest, ShutdownWritesTheCodeToIsaDebugExit) {
  sim::SimDebugExit exit_device(sim_);
  // QEMU exits with (code << 1) | 1: the guest protocol's 0x10 becomes 33, 0x11 becomes 35.
  EXPECT_EXIT(pvops_shutdown(0x10), ::testing::ExitedWithCode(33), "");
  EXPECT_EXIT(pvops_shutdown(0x11), ::testing::ExitedWithCode(35), "");
}

TEST_F(ConsoleAndExitDeathTest, ShutdownWithoutAnExitDeviceHaltsWithInterruptsOff) {
  sim_.SetInterruptsEnabled(true);
  EXPECT_EXIT(pvops_shutdown(0x12), ::testing::ExitedWithCode(sim::kDeadHaltExitCode),
              "halted with interrupts off");
}

TEST_F(ConsoleAndExitDeathTest, ShutdownWritesFourBytesToPort0xf4ThenHaltsWithInterruptsOff) {
  sim_.SetInterruptsEnabled(true);
  // Checked at the halt, inside the dying process: the verdict is its exit code.
  sim_.OnHalt([this] {
    const std::vector<uint32_t> writes = sim_.PortWrites(0xf4);
    const bool as_expected = writes == std::vector<uint32_t>{0x11} &&
                             sim_.port_log().back().size == 4 && !sim_.interrupts_enabled();
    if (!as_expected) _exit(1);
    sim_.DeadHalt();
  });
  EXPECT_EXIT(pvops_shutdown(0x11), ::testing::ExitedWithCode(sim::kDeadHaltExitCode), "");
}

}  // namespace
}  // namespace pvops::test
