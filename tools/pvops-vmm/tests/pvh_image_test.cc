// SPDX-License-Identifier: MIT
#include "pvh_image.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <xen/elfnote.h>

#include <cstring>
#include <string>

#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint64_t kVirtualBase = 0xffffffff80000000;
constexpr uint64_t kLoadAddress = 0x100000;
constexpr uint32_t kEntry = 0x1000c0;

void Append(std::vector<uint8_t>& bytes, const void* data, size_t size) {
  const auto* begin = static_cast<const uint8_t*>(data);
  bytes.insert(bytes.end(), begin, begin + size);
}

void AppendNote(std::vector<uint8_t>& bytes, const char* name, uint32_t type, uint32_t value) {
  const Elf64_Nhdr header{static_cast<Elf64_Word>(std::strlen(name) + 1), sizeof(value), type};
  Append(bytes, &header, sizeof(header));
  std::string padded_name(name);
  padded_name.resize((header.n_namesz + 3) & ~3u, '\0');
  Append(bytes, padded_name.data(), padded_name.size());
  Append(bytes, &value, sizeof(value));
}

// An ELF64 like the guest image: linked high, loaded at 1 MiB by p_paddr, with a .bss tail and
// a PT_NOTE holding first an unrelated note and then PHYS32_ENTRY.
struct TestImage {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> payload{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint64_t memory_size = 64;

  explicit TestImage(bool with_entry_note = true, unsigned char elf_class = ELFCLASS64) {
    std::vector<uint8_t> notes;
    AppendNote(notes, "GNU", 3, 0x12345678);
    if (with_entry_note) AppendNote(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, kEntry);

    const uint64_t program_headers = sizeof(Elf64_Ehdr);
    const uint64_t payload_offset = program_headers + 2 * sizeof(Elf64_Phdr);
    const uint64_t notes_offset = payload_offset + payload.size();

    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = elf_class;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_entry = kVirtualBase + kLoadAddress;
    header.e_phoff = program_headers;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = 2;

    Elf64_Phdr load{};
    load.p_type = PT_LOAD;
    load.p_offset = payload_offset;
    load.p_vaddr = kVirtualBase + kLoadAddress;
    load.p_paddr = kLoadAddress;
    load.p_filesz = payload.size();
    load.p_memsz = memory_size;

    Elf64_Phdr note{};
    note.p_type = PT_NOTE;
    note.p_offset = notes_offset;
    note.p_filesz = notes.size();

    Append(bytes, &header, sizeof(header));
    Append(bytes, &load, sizeof(load));
    Append(bytes, &note, sizeof(note));
    Append(bytes, payload.data(), payload.size());
    Append(bytes, notes.data(), notes.size());
  }
};

std::string ParseError(const std::vector<uint8_t>& bytes) {
  try {
    ParsePvhImage(bytes);
  } catch (const VmmError& error) {
    return error.what();
  }
  return "";
}

TEST(PvhImage, FindsSegmentsByPhysicalAddressAndTheEntryNote) {
  TestImage image;
  const PvhImage parsed = ParsePvhImage(image.bytes);
  EXPECT_EQ(parsed.phys32_entry, kEntry);
  ASSERT_EQ(parsed.segments.size(), 1u);
  EXPECT_EQ(parsed.segments[0].physical_address, kLoadAddress);
  EXPECT_EQ(parsed.segments[0].file_size, image.payload.size());
  EXPECT_EQ(parsed.segments[0].memory_size, image.memory_size);
  EXPECT_EQ(parsed.LowestAddress(), kLoadAddress);
  EXPECT_EQ(parsed.EndAddress(), kLoadAddress + image.memory_size);
}

TEST(PvhImage, LoadsBytesAndZeroFillsTheRest) {
  TestImage image;
  const PvhImage parsed = ParsePvhImage(image.bytes);
  GuestMemory memory(4 << 20);
  std::memset(memory.At(kLoadAddress, image.memory_size).data(), 0xaa, image.memory_size);
  LoadPvhImage(parsed, image.bytes, memory);
  const auto loaded = memory.At(kLoadAddress, image.memory_size);
  EXPECT_EQ(std::vector<uint8_t>(loaded.begin(), loaded.begin() + 16), image.payload);
  for (size_t i = image.payload.size(); i < image.memory_size; ++i) EXPECT_EQ(loaded[i], 0) << i;
}

TEST(PvhImage, RefusesASegmentOutsideRam) {
  TestImage image;
  GuestMemory memory(kLoadAddress + 32);  // smaller than the segment's end
  EXPECT_THROW(LoadPvhImage(ParsePvhImage(image.bytes), image.bytes, memory), VmmError);
}

TEST(PvhImage, NamesWhatIsMissing) {
  EXPECT_NE(ParseError(TestImage(false).bytes).find("PHYS32_ENTRY"), std::string::npos);
  EXPECT_NE(ParseError(TestImage(true, ELFCLASS32).bytes).find("ELF64"), std::string::npos);
  std::vector<uint8_t> not_elf(128, 0);
  EXPECT_NE(ParseError(not_elf).find("not an ELF"), std::string::npos);
  TestImage image;
  image.bytes.resize(sizeof(Elf64_Ehdr) + 8);  // program headers cut off
  EXPECT_NE(ParseError(image.bytes).find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace pvops::vmm
