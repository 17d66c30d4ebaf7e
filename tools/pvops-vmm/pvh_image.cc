// SPDX-License-Identifier: MIT
#include "pvh_image.h"

#include <elf.h>
#include <xen/elfnote.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include "absl/strings/str_format.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// Reads a T at offset, refusing to read past the file.
template <typename T>
T ReadAt(std::span<const uint8_t> bytes, uint64_t offset, const char* what) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset) {
    throw VmmError(absl::StrFormat("image truncated: %s at offset %#x lies past its %u bytes", what,
                                   offset, bytes.size()));
  }
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

uint64_t AlignUp4(uint64_t value) { return (value + 3) & ~uint64_t{3}; }

// Looks for the Xen PHYS32_ENTRY note in one PT_NOTE segment's bytes.
bool FindPhys32Entry(std::span<const uint8_t> notes, uint32_t& entry) {
  uint64_t offset = 0;
  while (offset + sizeof(Elf64_Nhdr) <= notes.size()) {
    const auto header = ReadAt<Elf64_Nhdr>(notes, offset, "note header");
    const uint64_t name_offset = offset + sizeof(Elf64_Nhdr);
    const uint64_t desc_offset = name_offset + AlignUp4(header.n_namesz);
    const uint64_t next = desc_offset + AlignUp4(header.n_descsz);
    if (next > notes.size()) throw VmmError("image has a note running past its PT_NOTE segment");
    const std::string_view name(reinterpret_cast<const char*>(notes.data() + name_offset),
                                header.n_namesz);
    // The name's size counts its NUL: "Xen\0".
    if (header.n_type == XEN_ELFNOTE_PHYS32_ENTRY && name == std::string_view("Xen", 4)) {
      if (header.n_descsz < sizeof(uint32_t))
        throw VmmError("PHYS32_ENTRY note is shorter than 4 bytes");
      entry = ReadAt<uint32_t>(notes, desc_offset, "PHYS32_ENTRY value");
      return true;
    }
    offset = next;
  }
  return false;
}

}  // namespace

uint64_t PvhImage::LowestAddress() const {
  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  for (const auto& segment : segments) lowest = std::min(lowest, segment.physical_address);
  return lowest;
}

uint64_t PvhImage::EndAddress() const {
  uint64_t end = 0;
  for (const auto& segment : segments)
    end = std::max(end, segment.physical_address + segment.memory_size);
  return end;
}

PvhImage ParsePvhImage(std::span<const uint8_t> elf) {
  const auto header = ReadAt<Elf64_Ehdr>(elf, 0, "ELF header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) throw VmmError("image is not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64) throw VmmError("image is not ELF64");
  if (header.e_ident[EI_DATA] != ELFDATA2LSB) throw VmmError("image is not little-endian");
  if (header.e_machine != EM_X86_64) throw VmmError("image is not for x86-64");
  if (header.e_phentsize != sizeof(Elf64_Phdr))
    throw VmmError("image has an odd program header size");

  PvhImage image;
  bool entry_found = false;
  for (uint16_t index = 0; index < header.e_phnum; ++index) {
    const auto program = ReadAt<Elf64_Phdr>(
        elf, header.e_phoff + uint64_t{index} * sizeof(Elf64_Phdr), "program header");
    if (program.p_offset > elf.size() || program.p_filesz > elf.size() - program.p_offset) {
      throw VmmError(absl::StrFormat("program header %u points past the end of the image", index));
    }
    if (program.p_type == PT_LOAD && program.p_memsz > 0) {
      if (program.p_filesz > program.p_memsz) {
        throw VmmError(absl::StrFormat("segment %u has filesz above memsz", index));
      }
      image.segments.push_back(
          {program.p_paddr, program.p_offset, program.p_filesz, program.p_memsz});
    } else if (program.p_type == PT_NOTE && !entry_found) {
      entry_found =
          FindPhys32Entry(elf.subspan(program.p_offset, program.p_filesz), image.phys32_entry);
    }
  }
  if (image.segments.empty()) throw VmmError("image has no PT_LOAD segment");
  if (!entry_found)
    throw VmmError("image has no XEN_ELFNOTE_PHYS32_ENTRY note (type 18) in a PT_NOTE segment");
  return image;
}

void LoadPvhImage(const PvhImage& image, std::span<const uint8_t> elf, GuestMemory& memory) {
  for (const auto& segment : image.segments) {
    auto destination = memory.At(segment.physical_address, segment.memory_size);
    std::memcpy(destination.data(), elf.data() + segment.file_offset, segment.file_size);
    std::memset(destination.data() + segment.file_size, 0, segment.memory_size - segment.file_size);
  }
}

}  // namespace pvops::vmm
