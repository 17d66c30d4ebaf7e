// SPDX-License-Identifier: MIT
// The VMI option ROM's static checks (backends/vmi/vmi_rom.cc) on any bytes in the legacy ROM
// window: every field is hypervisor data. Each check either passes or refuses with a reason;
// none reads outside the window.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "backends/vmi/vmi_rom.h"
#include "core/reason.h"
#include "fuzz_machine.h"

namespace {

constexpr uint64_t kWindow = 0xC0000;
constexpr size_t kWindowSize = 0x20000;

// One buffer for every input, cleared each time: ASan maps a fresh allocation of this size and
// unmaps it again, which cost most of each input's time. A global has ASan's redzone too.
uint8_t g_window[kWindowSize];

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pvops;
  FuzzedDataProvider in(data, size);
  fuzz::Machine m;
  // The ROM at a 2 KiB step of the window, its bytes from the input; the rest of the window
  // zeros. The window is a buffer of its own: ASan sees any read past it.
  memset(g_window, 0, sizeof(g_window));
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, kWindowSize / 2048 - 1) * 2048;
  const std::vector<uint8_t> rom = in.ConsumeRemainingBytes<uint8_t>();
  if (!rom.empty()) memcpy(g_window + at, rom.data(), std::min(rom.size(), kWindowSize - at));
  m.sim.MapPhys(kWindow, g_window, sizeof(g_window));
  core::InstallEnv(sim::MakeEnv());

  (void)vmi::FindSignedRom();
  vmi::RomLayout layout{};
  char text[PVOPS_REASON_LEN];
  core::Reason why(text, sizeof(text));
  if (vmi::FindValidRom(&layout, &why)) {
    if (layout.phys < kWindow || layout.phys + layout.length > kWindow + kWindowSize)
      __builtin_trap();  // a ROM passed that does not fit the window
  }
  core::Reason why_at(text, sizeof(text));
  (void)vmi::CheckRom(kWindow + at, &layout, &why_at);
  return 0;
}
