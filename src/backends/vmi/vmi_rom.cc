#include "backends/vmi/vmi_rom.h"

#include "core/runtime.h"

namespace pvops::vmi {
namespace {

uint32_t Read32(const volatile uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

uint64_t FindRom(pvops::core::Reason* why) {
  for (uint64_t pa = kRomWindowStart; pa < kRomWindowEnd; pa += kRomScanStep) {
    const auto* rom = static_cast<const volatile uint8_t*>(pvops::core::PhysToVirt(pa));
    if (rom == nullptr) return 0;  // the kernel did not map the window: nothing to scan
    if (rom[0] != 0x55 || rom[1] != 0xaa) continue;
    if (Read32(rom + kVromSignatureOffset) != kVromSignature) continue;
    const uint64_t length = uint64_t{rom[2]} * 512;
    if (length < kVromSignatureOffset + 4 || pa + length > kRomWindowEnd) {
      why->Add("VMI ROM at ").AddHex(pa).Add(" refused: length ").AddHex(length)
          .Add(" leaves the ROM window");
      continue;
    }
    uint8_t sum = 0;
    for (uint64_t i = 0; i < length; ++i) sum = static_cast<uint8_t>(sum + rom[i]);
    if (sum != 0) {
      why->Add("VMI ROM at ").AddHex(pa).Add(" refused: checksum ").AddHex(sum).Add(" is not 0");
      continue;
    }
    return pa;
  }
  return 0;
}

}  // namespace pvops::vmi
