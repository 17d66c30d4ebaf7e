// SPDX-License-Identifier: MIT
// The scanner and the validator on the simulated machine: the real ROM images in a host buffer
// handed out by the env's phys_to_virt, each rule of rom/README.md broken once, and the
// relocation checks against a ROM whose get_reloc or init answers what a broken ROM would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "backends/vmi/vmi_calls.h"
#include "backends/vmi/vmi_rom.h"
#include "core/runtime.h"
#include "vmware_machine.h"

namespace pvops::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class RomCheckTest : public VmwareMachineTest {
 protected:
  RomCheckTest() { core::InstallEnv(sim::MakeEnv()); }

  // The validator's verdict on whatever is in the window; `why_` keeps the reason.
  bool Find() {
    why_ = core::Reason(text_, sizeof(text_));
    return vmi::FindValidRom(&layout_, &why_);
  }
  bool Load() {
    why_ = core::Reason(text_, sizeof(text_));
    return vmi::LoadRomCalls(layout_, &calls_, &why_);
  }
  std::string Why() const { return text_; }

  // The good image with one edit; the checksum fixed again unless `keep_checksum`.
  std::vector<uint8_t> Edited(size_t at, std::vector<uint8_t> bytes, bool keep_checksum = false) {
    std::vector<uint8_t> rom = LoadRomImage();
    std::memcpy(&rom[at], bytes.data(), bytes.size());
    if (!keep_checksum) FixChecksum(&rom);
    return rom;
  }
  uint16_t Field16(size_t at) {
    const std::vector<uint8_t> rom = LoadRomImage();
    return uint16_t(rom[at] | rom[at + 1] << 8);
  }

  char text_[PVOPS_REASON_LEN] = {};
  core::Reason why_{text_, sizeof(text_)};
  vmi::RomLayout layout_{};
  vmi::RomCalls calls_{};
};

TEST_F(RomCheckTest, FindsTheRomBehindAnotherOptionRom) {
  // A ROM without the VMI signature first, as the vmware env has pvh.bin and kvmvapic.bin.
  std::vector<uint8_t> other(2048, 0);
  other[0] = 0x55;
  other[1] = 0xaa;
  other[2] = 4;
  FixChecksum(&other);
  window_.Place(other, 0xc0000);
  PlaceRom(LoadRomImage(), 0xc3000);
  EXPECT_EQ(vmi::FindSignedRom(), 0xc3000u);
  ASSERT_TRUE(Find()) << Why();
  EXPECT_EQ(layout_.phys, 0xc3000u);
  EXPECT_EQ(layout_.bytes, window_.At(0xc3000));
  EXPECT_EQ(layout_.length, LoadRomImage().size());
  EXPECT_EQ(layout_.api_major, 3);
  EXPECT_EQ(layout_.api_minor, 0);
  EXPECT_EQ(layout_.jump_slots, VMI_REFERENCE_JUMP_SLOTS);
  EXPECT_EQ(layout_.code_version, 0x0100);
}

TEST_F(RomCheckTest, NothingInTheWindow) {
  EXPECT_EQ(vmi::FindSignedRom(), 0u);
  EXPECT_FALSE(Find());
  EXPECT_EQ(Why(), "no VMI ROM in 0xc0000-0xe0000");
}

TEST_F(RomCheckTest, AnUnmappedWindowIsNotRead) {
  PlaceRom(LoadRomImage());
  pvops_env env = sim::MakeEnv();
  env.phys_to_virt = [](uint64_t) -> void* { return nullptr; };
  core::InstallEnv(env);
  EXPECT_EQ(vmi::FindSignedRom(), 0u);
  EXPECT_FALSE(Find());
}

TEST_F(RomCheckTest, RefusesTheBadChecksumRom) {
  PlaceRom(LoadRomImage("checksum"));
  EXPECT_EQ(vmi::FindSignedRom(), kRomPhys) << "both signatures are intact";
  EXPECT_FALSE(Find());
  EXPECT_EQ(Why(), "VMI ROM at 0xc3000 refused: checksum: bytes sum to 0x1, not 0");
}

TEST_F(RomCheckTest, RefusesTheBadOffsetRom) {
  PlaceRom(LoadRomImage("offset"));
  EXPECT_FALSE(Find());
  EXPECT_EQ(Why(),
            "VMI ROM at 0xc3000 refused: PCI header offset 0x900 outside the ROM (0x800 bytes)");
}

TEST_F(RomCheckTest, RefusesTheBadLengthRom) {
  PlaceRom(LoadRomImage("length"));
  EXPECT_FALSE(Find());
  EXPECT_EQ(
      Why(),
      "VMI ROM at 0xc3000 refused: length 0x1fe00 runs to 0xe2e00, past the window end 0xe0000");
}

TEST_F(RomCheckTest, TheLastSlotOfTheWindowIsInside) {
  const std::vector<uint8_t> rom = LoadRomImage();
  const uint64_t last = VMI_ROM_WINDOW_END - rom.size();
  PlaceRom(rom, last);
  ASSERT_TRUE(Find()) << Why();
  EXPECT_EQ(layout_.phys, last);
}

TEST_F(RomCheckTest, TheFirstRefusalIsReportedAndALaterGoodRomUsed) {
  PlaceRom(LoadRomImage("checksum"), 0xc0000);
  PlaceRom(LoadRomImage(), 0xd0000);
  ASSERT_TRUE(Find()) << Why();
  EXPECT_EQ(layout_.phys, 0xd0000u);
}

// A kernel that maps physical page 0xc4000 somewhere else than after page 0xc3000.
uint8_t g_elsewhere[4096];
void* SplitMapping(uint64_t pa) {
  if (pa >= 0xc4000 && pa < 0xc5000) return g_elsewhere + (pa - 0xc4000);
  return sim::Current().PhysToVirt(pa);
}

TEST_F(RomCheckTest, RefusesANonContiguousMapping) {
  // The reference ROM grown to 4 KiB, at 0xc3800: it spans the pages 0xc3000 and 0xc4000.
  std::vector<uint8_t> rom = LoadRomImage();
  rom.resize(4096, 0);
  rom[VMI_OFFSET_ROM_LENGTH] = 8;
  const uint16_t pci = Field16(VMI_OFFSET_PCI_HEADER);
  rom[pci + VMI_PCI_OFFSET_IMAGE_LENGTH] = 8;
  FixChecksum(&rom);
  PlaceRom(rom, 0xc3800);
  ASSERT_TRUE(Find()) << "contiguous, it is fine: " << Why();

  pvops_env env = sim::MakeEnv();
  env.phys_to_virt = SplitMapping;
  core::InstallEnv(env);
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("does not map its 0x1000 bytes contiguously"));
}

TEST_F(RomCheckTest, RefusesAZeroLength) {
  PlaceRom(Edited(VMI_OFFSET_ROM_LENGTH, {0}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("length 0x0 cannot hold the header"));
}

TEST_F(RomCheckTest, RefusesAnotherApiMajor) {
  PlaceRom(Edited(VMI_OFFSET_API_MAJOR, {2}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("API 2.0, need major 3"));
}

TEST_F(RomCheckTest, AcceptsANewerApiMinor) {
  PlaceRom(Edited(VMI_OFFSET_API_MINOR, {5}));
  ASSERT_TRUE(Find()) << Why();
  EXPECT_EQ(layout_.api_minor, 5);
}

TEST_F(RomCheckTest, RefusesAVirtualTop) {
  PlaceRom(Edited(VMI_OFFSET_VIRTUAL_TOP, {0x00, 0x00, 0xc0, 0xff}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("virtual_top 0xffc00000"));
}

TEST_F(RomCheckTest, RefusesNoJumpSlots) {
  PlaceRom(Edited(VMI_OFFSET_JUMP_SLOTS, {0}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("jump_slots 0"));
}

TEST_F(RomCheckTest, RefusesAMissingOrUnterminatedLicense) {
  PlaceRom(Edited(VMI_OFFSET_LICENSE, {0, 0}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("no license string"));

  // The license offset pointed at the ROM's last byte: a string that never ends inside it.
  std::vector<uint8_t> rom = LoadRomImage();
  const uint16_t last = static_cast<uint16_t>(rom.size() - 1);
  rom[VMI_OFFSET_LICENSE] = static_cast<uint8_t>(last);
  rom[VMI_OFFSET_LICENSE + 1] = static_cast<uint8_t>(last >> 8);
  FixChecksum(&rom);
  PlaceRom(rom);
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("is not a terminated printable string"));
}

TEST_F(RomCheckTest, RefusesAForeignPciId) {
  const uint16_t pci = Field16(VMI_OFFSET_PCI_HEADER);
  PlaceRom(Edited(pci + VMI_PCI_OFFSET_VENDOR, {0x86, 0x80}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("PCI id 0x8086:0x801 is not VMware's VMI"));
}

TEST_F(RomCheckTest, RefusesAPciImageLengthThatDisagrees) {
  const uint16_t pci = Field16(VMI_OFFSET_PCI_HEADER);
  PlaceRom(Edited(pci + VMI_PCI_OFFSET_IMAGE_LENGTH, {9, 0}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("PCI image length 9 blocks, ROM header says 4"));
}

TEST_F(RomCheckTest, RefusesABrokenPnpHeader) {
  const uint16_t pnp = Field16(VMI_OFFSET_PNP_HEADER);
  PlaceRom(Edited(pnp, {'$', 'P', 'n', 'Q'}));
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("no $PnP signature"));

  PlaceRom(Edited(pnp + VMI_PNP_OFFSET_CHECKSUM, {0x11}));  // ROM sum fixed, PnP sum not
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("PnP header checksum"));
}

TEST_F(RomCheckTest, RefusesAnEntrySlotThatIsNotAJump) {
  PlaceRom(Edited(VMI_OFFSET_INIT_SLOT, {0xc3}));  // a bare ret
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("init slot holds 0xc3, not a jmp rel32"));
}

TEST_F(RomCheckTest, RefusesAnEntrySlotJumpingOutOfTheRom) {
  PlaceRom(Edited(VMI_OFFSET_GET_RELOC_SLOT + 1, {0x00, 0x10, 0x00, 0x00}));  // +0x1000
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("get_reloc jumps to 0x108d, outside the ROM's code"));

  PlaceRom(Edited(VMI_OFFSET_INIT_SLOT + 1, {0xf0, 0xff, 0xff, 0xff}));  // into the header
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("init jumps to 0x75"));
}

// ---- Running the ROM: init and the relocations ---------------------------------------------

TEST_F(RomCheckTest, LoadsEveryRelocationOfTheReferenceRom) {
  PlaceRom(LoadRomImage());
  ASSERT_TRUE(Find()) << Why();
  ASSERT_TRUE(Load()) << Why();
  EXPECT_EQ(calls_.rom.phys, kRomPhys);
  for (uint32_t call = 0; call < VMI_REFERENCE_JUMP_SLOTS; ++call) {
    EXPECT_EQ(calls_.entry[call], EntryOf(call)) << "call " << call;
  }
  EXPECT_EQ(calls_.type[VMI_CALL_SetCR3], VMI_RELOCATION_CALL_REL);
  EXPECT_EQ(calls_.type[VMI_CALL_UpdatePxELong], VMI_RELOCATION_NOP);
  constexpr uint32_t kSetGdt = 3;  // a VMI 3.0 call the 64-bit form leaves out
  EXPECT_EQ(calls_.type[kSetGdt], VMI_RELOCATION_NONE);
}

TEST_F(RomCheckTest, RefusesARomWhoseInitFails) {
  PlaceRom(LoadRomImage());
  backdoor_present_ = false;  // the reference init asks the backdoor
  ASSERT_TRUE(Find()) << Why();
  EXPECT_FALSE(Load());
  EXPECT_EQ(Why(), "VMI ROM at 0xc3000 refused: init returned 1 (its hypervisor did not answer)");
  EXPECT_EQ(calls_.entry[VMI_CALL_SetCR3], 0u) << "nothing half-loaded";
}

TEST_F(RomCheckTest, RefusesARelocationOutsideTheRom) {
  PlaceRom(LoadRomImage());
  reloc_override_ = [this](uint32_t call) -> std::optional<RelocAnswer> {
    if (call != VMI_CALL_InvalPage) return std::nullopt;
    return RelocAnswer{reinterpret_cast<uintptr_t>(window_.At(kRomPhys)) + 0x4000,
                       VMI_RELOCATION_CALL_REL};
  };
  ASSERT_TRUE(Find()) << Why();
  EXPECT_FALSE(Load());
  EXPECT_THAT(Why(), StartsWith("VMI ROM at 0xc3000 refused: call 46: entry 0x"));
  EXPECT_THAT(Why(), HasSubstr("outside the ROM's code"));
  EXPECT_EQ(calls_.entry[VMI_CALL_SetCR3], 0u);
}

TEST_F(RomCheckTest, RefusesARelocationIntoTheHeader) {
  PlaceRom(LoadRomImage());
  reloc_override_ = [this](uint32_t call) -> std::optional<RelocAnswer> {
    if (call != VMI_CALL_CPUID) return std::nullopt;
    return RelocAnswer{
        reinterpret_cast<uintptr_t>(window_.At(kRomPhys)) + VMI_OFFSET_VROM_SIGNATURE,
        VMI_RELOCATION_CALL_REL};
  };
  ASSERT_TRUE(Find()) << Why();
  EXPECT_FALSE(Load());
  EXPECT_THAT(Why(), StartsWith("VMI ROM at 0xc3000 refused: call 0: entry"));
}

TEST_F(RomCheckTest, RefusesUnknownTypesAndReservedBits) {
  PlaceRom(LoadRomImage());
  uint64_t bad_type = 4;
  reloc_override_ = [&bad_type](uint32_t call) -> std::optional<RelocAnswer> {
    if (call != 50) return std::nullopt;  // a call number this library does not use
    return RelocAnswer{0, bad_type};
  };
  ASSERT_TRUE(Find()) << Why();
  EXPECT_FALSE(Load());
  EXPECT_EQ(Why(), "VMI ROM at 0xc3000 refused: call 50: relocation word 0x4 is not a known type");

  bad_type = 0x100 | VMI_RELOCATION_NONE;
  EXPECT_FALSE(Load());
  EXPECT_THAT(Why(), HasSubstr("relocation word 0x100 is not a known type"));
}

TEST_F(RomCheckTest, RefusesJumpRelAndNopWhereTheCallIsNeeded) {
  PlaceRom(LoadRomImage());
  uint32_t target = VMI_CALL_SetCR3;
  uint64_t type = VMI_RELOCATION_JUMP_REL;
  reloc_override_ = [&](uint32_t call) -> std::optional<RelocAnswer> {
    if (call != target) return std::nullopt;
    const RelocAnswer real =
        RunGetRelocNatively(window_.At(kRomPhys + VMI_OFFSET_GET_RELOC_SLOT), call);
    return RelocAnswer{real.entry, type};
  };
  ASSERT_TRUE(Find()) << Why();
  EXPECT_FALSE(Load());
  EXPECT_EQ(Why(), "VMI ROM at 0xc3000 refused: call 17: JUMP_REL, but the call is made with call");

  type = VMI_RELOCATION_NOP;
  EXPECT_FALSE(Load());
  EXPECT_EQ(Why(), "VMI ROM at 0xc3000 refused: call 17: NOP, but the call cannot be skipped");

  target = VMI_CALL_IODelay;  // a delay may be skipped
  ASSERT_TRUE(Load()) << Why();
  EXPECT_EQ(calls_.type[VMI_CALL_IODelay], VMI_RELOCATION_NOP);
  EXPECT_EQ(calls_.entry[VMI_CALL_IODelay], 0u);

  target = VMI_CALL_SetCR3;  // NONE: the native instruction stays
  type = VMI_RELOCATION_NONE;
  ASSERT_TRUE(Load()) << Why();
  EXPECT_EQ(calls_.entry[VMI_CALL_SetCR3], 0u);
}

// The kernel's env.map_exec, answered by the test: an executable view of the window (a kernel
// with an NX direct map), nothing, or a wrong view. Records what it was asked for.
enum class ExecAnswer { kView, kNothing, kOffByBytes, kOtherPage };
ExecAnswer g_exec_answer;
const RomWindow* g_exec_window;
uint64_t g_exec_pa, g_exec_len;
const void* MapExec(uint64_t pa, uint64_t len) {
  g_exec_pa = pa;
  g_exec_len = len;
  switch (g_exec_answer) {
    case ExecAnswer::kView: return g_exec_window->ExecAt(pa);
    case ExecAnswer::kNothing: return nullptr;
    case ExecAnswer::kOffByBytes: return g_exec_window->ExecAt(pa) + 16;
    case ExecAnswer::kOtherPage: return g_exec_window->ExecAt(pa + 0x1000);
  }
  return nullptr;
}

class RomExecMappingTest : public RomCheckTest {
 protected:
  RomExecMappingTest() {
    g_exec_window = &window_;
    g_exec_pa = g_exec_len = 0;
    pvops_env env = sim::MakeEnv();
    env.map_exec = MapExec;
    core::InstallEnv(env);
  }
};

TEST_F(RomExecMappingTest, TheRomRunsInTheKernelsExecutableMapping) {
  g_exec_answer = ExecAnswer::kView;
  UseExecView();
  PlaceRom(LoadRomImage());
  ASSERT_TRUE(Find()) << Why();
  EXPECT_EQ(g_exec_pa, kRomPhys);
  EXPECT_EQ(g_exec_len, LoadRomImage().size()) << "the checked ROM, not the window";
  EXPECT_EQ(layout_.bytes, window_.At(kRomPhys)) << "the checks read the data mapping";
  EXPECT_EQ(layout_.code, window_.ExecAt(kRomPhys));
  // init and get_reloc are reached there (the stub handler knows no other address), and the
  // entries get_reloc computes follow the mapping.
  ASSERT_TRUE(Load()) << Why();
  const auto code = reinterpret_cast<uintptr_t>(window_.ExecAt(kRomPhys));
  EXPECT_GE(calls_.entry[VMI_CALL_CPUID], code + VMI_HEADER_BYTES);
  EXPECT_LT(calls_.entry[VMI_CALL_CPUID], code + layout_.length);
}

TEST_F(RomExecMappingTest, NoExecutableMappingRefusesTheRomBeforeItRuns) {
  g_exec_answer = ExecAnswer::kNothing;
  PlaceRom(LoadRomImage());
  EXPECT_FALSE(Find());
  EXPECT_EQ(Why(), "VMI ROM at 0xc3000 refused: the kernel gives no executable mapping of it");
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u);
}

TEST_F(RomExecMappingTest, AWrongExecutableMappingIsRefused) {
  PlaceRom(LoadRomImage());
  g_exec_answer = ExecAnswer::kOffByBytes;
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("does not fit its 0x800 bytes"));

  g_exec_answer = ExecAnswer::kOtherPage;  // the right page offset, other memory
  EXPECT_FALSE(Find());
  EXPECT_THAT(Why(), HasSubstr("the kernel's executable mapping differs at offset 0x0"));
  EXPECT_EQ(sim_.exits(sim::Exit::kStubCall), 0u);
}

TEST_F(RomExecMappingTest, AStaticallyBadRomIsNeverMapped) {
  g_exec_answer = ExecAnswer::kView;
  PlaceRom(LoadRomImage("checksum"));
  EXPECT_FALSE(Find());
  EXPECT_EQ(g_exec_len, 0u);
}

}  // namespace
}  // namespace pvops::test
