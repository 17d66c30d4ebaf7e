// SPDX-License-Identifier: MIT
#include "backends/vmi/vmi_rom.h"

#include "arch/x86/registers.h"
#include "core/runtime.h"

namespace pvops::vmi {
namespace {

// A checked view of the ROM's bytes: every read names an offset the caller proved in range.
class RomBytes {
 public:
  RomBytes(const volatile uint8_t* bytes, uint32_t length) : bytes_(bytes), length_(length) {}
  uint32_t length() const { return length_; }
  bool Holds(uint32_t offset, uint32_t size) const {
    return offset <= length_ && size <= length_ - offset;
  }
  uint8_t U8(uint32_t offset) const { return bytes_[offset]; }
  uint16_t U16(uint32_t offset) const { return uint16_t(bytes_[offset] | bytes_[offset + 1] << 8); }
  uint32_t U32(uint32_t offset) const {
    return uint32_t{U16(offset)} | uint32_t{U16(offset + 2)} << 16;
  }
  // Whether a NUL-terminated string of printable ASCII starts at `offset` inside the ROM.
  bool HoldsPrintableString(uint32_t offset) const {
    for (uint32_t i = offset; i < length_; ++i) {
      const uint8_t c = bytes_[i];
      if (c == 0) return i > offset;
      if (c < 0x20 || c > 0x7e) return false;
    }
    return false;  // ran off the end: unterminated
  }
  uint8_t Sum(uint32_t offset, uint32_t size) const {
    uint8_t sum = 0;
    for (uint32_t i = 0; i < size; ++i) sum = uint8_t(sum + bytes_[offset + i]);
    return sum;
  }

 private:
  const volatile uint8_t* bytes_;
  uint32_t length_;
};

const volatile uint8_t* Map(uint64_t phys) {
  return static_cast<const volatile uint8_t*>(core::PhysToVirt(phys));
}

bool HasSignatures(const volatile uint8_t* p) {
  const RomBytes head(p, VMI_OFFSET_VROM_SIGNATURE + 4);
  return head.U16(VMI_OFFSET_ROM_SIGNATURE) == VMI_ROM_SIGNATURE &&
         head.U32(VMI_OFFSET_VROM_SIGNATURE) == VMI_VROM_SIGNATURE;
}

// The kernel maps pages, not ROMs: each page of the ROM must follow the first at the same
// distance, or reading "rom + offset" would read some other memory.
bool MappedContiguously(uint64_t phys, const volatile uint8_t* va, uint32_t length) {
  for (uint64_t page = (phys & ~(X86_PAGE_SIZE - 1)) + X86_PAGE_SIZE; page < phys + length;
       page += X86_PAGE_SIZE) {
    if (Map(page) != va + (page - phys)) return false;
  }
  return true;
}

// A string field: 0 means absent (allowed only when `optional`).
bool CheckString(const RomBytes& rom, uint32_t offset, const char* what, bool optional,
                 core::Reason* why) {
  if (offset == 0) {
    if (optional) return true;
    why->Add("no ").Add(what).Add(" string");
    return false;
  }
  if (!rom.Holds(offset, 1)) {
    why->Add(what).Add(" offset ").AddHex(offset).Add(" outside the ROM");
    return false;
  }
  if (!rom.HoldsPrintableString(offset)) {
    why->Add(what).Add(" at ").AddHex(offset).Add(" is not a terminated printable string");
    return false;
  }
  return true;
}

bool CheckPciHeader(const RomBytes& rom, RomLayout* out, core::Reason* why) {
  const uint32_t at = rom.U16(VMI_OFFSET_PCI_HEADER);
  if (at == 0) {
    why->Add("no PCI header");
    return false;
  }
  if (!rom.Holds(at, VMI_PCI_STRUCT_BYTES)) {
    why->Add("PCI header offset ")
        .AddHex(at)
        .Add(" outside the ROM (")
        .AddHex(rom.length())
        .Add(" bytes)");
    return false;
  }
  if (rom.U32(at) != VMI_PCI_SIGNATURE) {
    why->Add("no PCIR signature at ").AddHex(at);
    return false;
  }
  if (rom.U16(at + VMI_PCI_OFFSET_VENDOR) != VMI_PCI_VENDOR_VMWARE ||
      rom.U16(at + VMI_PCI_OFFSET_DEVICE) != VMI_PCI_DEVICE_VMI) {
    why->Add("PCI id ")
        .AddHex(rom.U16(at + VMI_PCI_OFFSET_VENDOR))
        .Add(":")
        .AddHex(rom.U16(at + VMI_PCI_OFFSET_DEVICE))
        .Add(" is not VMware's VMI 0x15ad:0x801");
    return false;
  }
  const uint32_t struct_length = rom.U16(at + VMI_PCI_OFFSET_STRUCT_LENGTH);
  if (struct_length < VMI_PCI_STRUCT_BYTES || !rom.Holds(at, struct_length)) {
    why->Add("PCI header length ").AddHex(struct_length).Add(" bad");
    return false;
  }
  const uint32_t image_blocks = rom.U16(at + VMI_PCI_OFFSET_IMAGE_LENGTH);
  if (image_blocks * VMI_ROM_BLOCK_BYTES != rom.length()) {
    why->Add("PCI image length ")
        .AddDec(image_blocks)
        .Add(" blocks, ROM header says ")
        .AddDec(rom.length() / VMI_ROM_BLOCK_BYTES);
    return false;
  }
  if (rom.U8(at + VMI_PCI_OFFSET_CODE_TYPE) != VMI_PCI_CODE_TYPE_X86) {
    why->Add("PCI code type ").AddDec(rom.U8(at + VMI_PCI_OFFSET_CODE_TYPE)).Add(" is not x86");
    return false;
  }
  out->code_version = uint16_t(rom.U8(at + VMI_PCI_OFFSET_CODE_REVISION + 1) << 8 |
                               rom.U8(at + VMI_PCI_OFFSET_CODE_REVISION));
  return true;
}

bool CheckPnpHeader(const RomBytes& rom, core::Reason* why) {
  const uint32_t at = rom.U16(VMI_OFFSET_PNP_HEADER);
  if (at == 0) return true;  // optional
  if (!rom.Holds(at, VMI_PNP_HEADER_BYTES)) {
    why->Add("PnP header offset ").AddHex(at).Add(" outside the ROM");
    return false;
  }
  if (rom.U32(at) != VMI_PNP_SIGNATURE) {
    why->Add("no $PnP signature at ").AddHex(at);
    return false;
  }
  const uint32_t size = uint32_t{rom.U8(at + VMI_PNP_OFFSET_LENGTH)} * 16;
  if (size < VMI_PNP_HEADER_BYTES || !rom.Holds(at, size)) {
    why->Add("PnP header length ").AddHex(size).Add(" bad");
    return false;
  }
  if (rom.Sum(at, size) != 0) {
    why->Add("PnP header checksum ").AddHex(rom.Sum(at, size)).Add(" is not 0");
    return false;
  }
  return CheckString(rom, rom.U16(at + VMI_PNP_OFFSET_MANUFACTURER), "manufacturer", true, why) &&
         CheckString(rom, rom.U16(at + VMI_PNP_OFFSET_PRODUCT), "product", true, why);
}

// An entry slot holds `jmp rel32` to code inside the ROM, past the header.
bool CheckEntrySlot(const RomBytes& rom, uint32_t slot, const char* what, core::Reason* why) {
  constexpr uint8_t kJmpRel32 = 0xe9;
  if (rom.U8(slot) != kJmpRel32) {
    why->Add(what).Add(" slot holds ").AddHex(rom.U8(slot)).Add(", not a jmp rel32");
    return false;
  }
  const int64_t target = int64_t{slot} + 5 + static_cast<int32_t>(rom.U32(slot + 1));
  if (target < VMI_HEADER_BYTES || target >= rom.length()) {
    why->Add(what)
        .Add(" jumps to ")
        .AddHex(static_cast<uint64_t>(target))
        .Add(", outside the ROM's code");
    return false;
  }
  return true;
}

bool CheckBody(const RomBytes& rom, RomLayout* out, core::Reason* why) {
  if (rom.U8(VMI_OFFSET_API_MAJOR) != VMI_API_MAJOR) {
    why->Add("API ")
        .AddDec(rom.U8(VMI_OFFSET_API_MAJOR))
        .Add(".")
        .AddDec(rom.U8(VMI_OFFSET_API_MINOR))
        .Add(", need major 3");
    return false;
  }
  if (rom.U32(VMI_OFFSET_VIRTUAL_TOP) != 0) {
    why->Add("virtual_top ")
        .AddHex(rom.U32(VMI_OFFSET_VIRTUAL_TOP))
        .Add(" asks for an address range the 64-bit form does not reserve");
    return false;
  }
  if (rom.U8(VMI_OFFSET_JUMP_SLOTS) == 0) {
    why->Add("jump_slots 0: it answers no call");
    return false;
  }
  if (!CheckString(rom, rom.U16(VMI_OFFSET_LICENSE), "license", false, why)) return false;
  if (!CheckPciHeader(rom, out, why) || !CheckPnpHeader(rom, why)) return false;
  if (!CheckEntrySlot(rom, VMI_OFFSET_INIT_SLOT, "init", why) ||
      !CheckEntrySlot(rom, VMI_OFFSET_GET_RELOC_SLOT, "get_reloc", why)) {
    return false;
  }
  out->api_major = rom.U8(VMI_OFFSET_API_MAJOR);
  out->api_minor = rom.U8(VMI_OFFSET_API_MINOR);
  out->jump_slots = rom.U8(VMI_OFFSET_JUMP_SLOTS);
  return true;
}

// Where the ROM's code runs. A kernel with an NX direct map hands out an executable alias
// (env.map_exec); whatever it returns is checked before anything runs there: the same offset
// into the page, no wrap, and the same bytes as the checked data mapping.
bool MapCode(uint64_t phys, const RomBytes& rom, const volatile uint8_t* data,
             const volatile uint8_t** code, core::Reason* why) {
  const auto map_exec = core::Env().map_exec;
  if (map_exec == nullptr) {
    *code = data;  // the kernel maps the ROM executable where it maps its data
    return true;
  }
  const auto* va = static_cast<const volatile uint8_t*>(map_exec(phys, rom.length()));
  const auto at = reinterpret_cast<uintptr_t>(va);
  if (va == nullptr) {
    why->Add("the kernel gives no executable mapping of it");
    return false;
  }
  if ((at & (X86_PAGE_SIZE - 1)) != (phys & (X86_PAGE_SIZE - 1)) || at + rom.length() < at) {
    why->Add("the kernel's executable mapping ")
        .AddHex(at)
        .Add(" does not fit its ")
        .AddHex(rom.length())
        .Add(" bytes");
    return false;
  }
  for (uint32_t i = 0; i < rom.length(); ++i) {
    if (va[i] != rom.U8(i)) {
      why->Add("the kernel's executable mapping differs at offset ").AddHex(i);
      return false;
    }
  }
  *code = va;
  return true;
}

}  // namespace

uint64_t FindSignedRom() {
  for (uint64_t pa = VMI_ROM_WINDOW_START; pa < VMI_ROM_WINDOW_END; pa += VMI_ROM_SCAN_STEP) {
    const volatile uint8_t* p = Map(pa);
    if (p != nullptr && HasSignatures(p)) return pa;
  }
  return 0;
}

bool CheckRom(uint64_t phys, RomLayout* out, core::Reason* why) {
  *out = RomLayout{};
  why->Add("VMI ROM at ").AddHex(phys).Add(" refused: ");
  const volatile uint8_t* va = Map(phys);
  if (va == nullptr || !HasSignatures(va)) {
    why->Add("no 0x55AA/cVmi signatures");
    return false;
  }
  const uint32_t length = uint32_t{va[VMI_OFFSET_ROM_LENGTH]} * VMI_ROM_BLOCK_BYTES;
  if (length < VMI_HEADER_BYTES) {
    why->Add("length ").AddHex(length).Add(" cannot hold the header");
    return false;
  }
  if (phys + length > VMI_ROM_WINDOW_END) {
    why->Add("length ")
        .AddHex(length)
        .Add(" runs to ")
        .AddHex(phys + length)
        .Add(", past the window end 0xe0000");
    return false;
  }
  if (!MappedContiguously(phys, va, length)) {
    why->Add("the kernel does not map its ").AddHex(length).Add(" bytes contiguously");
    return false;
  }
  const RomBytes rom(va, length);
  if (const uint8_t sum = rom.Sum(0, length); sum != 0) {
    why->Add("checksum: bytes sum to ").AddHex(sum).Add(", not 0");
    return false;
  }
  if (!CheckBody(rom, out, why)) return false;
  const volatile uint8_t* code = nullptr;
  if (!MapCode(phys, rom, va, &code, why)) return false;
  out->phys = phys;
  out->bytes = va;
  out->code = code;
  out->length = length;
  why->Clear();
  return true;
}

bool FindValidRom(RomLayout* out, core::Reason* why) {
  bool refused_one = false;
  for (uint64_t pa = VMI_ROM_WINDOW_START; pa < VMI_ROM_WINDOW_END; pa += VMI_ROM_SCAN_STEP) {
    const volatile uint8_t* p = Map(pa);
    if (p == nullptr || !HasSignatures(p)) continue;
    if (refused_one) {
      // Keep the first refusal's text; later candidates are checked with a scratch reason.
      char scratch[PVOPS_REASON_LEN];
      core::Reason ignored(scratch, sizeof(scratch));
      if (CheckRom(pa, out, &ignored)) return true;
      continue;
    }
    if (CheckRom(pa, out, why)) return true;
    refused_one = true;
  }
  if (!refused_one) why->Add("no VMI ROM in 0xc0000-0xe0000");
  return false;
}

}  // namespace pvops::vmi
