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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pvops;
  FuzzedDataProvider in(data, size);
  fuzz::Machine m;
  // The ROM at a 2 KiB step of the window, its bytes from the input; the rest of the window
  // zeros. The window is its own allocation: ASan sees any read past it.
  std::vector<uint8_t> window(kWindowSize, 0);
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, kWindowSize / 2048 - 1) * 2048;
  const std::vector<uint8_t> rom = in.ConsumeRemainingBytes<uint8_t>();
  if (!rom.empty()) memcpy(window.data() + at, rom.data(), std::min(rom.size(), kWindowSize - at));
  m.sim.MapPhys(kWindow, window.data(), window.size());
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
