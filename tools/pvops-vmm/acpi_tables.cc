// SPDX-License-Identifier: MIT
#include "acpi_tables.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "pc_platform.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

// ACPI 6.5 layouts, byte offsets: 5.2.5.3 RSDP, 5.2.6 table header, 5.2.9 FADT, 5.2.12 MADT,
// 5.2.3.2 Generic Address Structure.
constexpr size_t kRsdpBytes = 36;
constexpr size_t kRsdpChecksumOffset = 8;
constexpr size_t kRsdpV1ChecksummedBytes = 20;  // the ACPI 1.0 part the first checksum covers
constexpr size_t kRsdpExtendedChecksumOffset = 32;
constexpr uint8_t kRsdpRevision = 2;  // ACPI 2.0+: XSDT, length, extended checksum

constexpr size_t kHeaderBytes = 36;
constexpr size_t kHeaderLengthOffset = 4;
constexpr size_t kHeaderChecksumOffset = 9;
constexpr std::string_view kOemId = "PVOPS ";
constexpr std::string_view kOemTableId = "PVOPSVMM";
constexpr uint32_t kOemRevision = 1;
constexpr std::string_view kCreatorId = "PVOP";
constexpr uint32_t kCreatorRevision = 1;

constexpr uint8_t kXsdtRevision = 1;

constexpr size_t kFadtBytes = 276;  // revision 6 (ACPI 6.0 and later): up to the hypervisor ID
constexpr uint8_t kFadtRevision = 6;
constexpr size_t kFadtCenturyOffset = 108;
constexpr size_t kFadtBootArchitectureOffset = 109;  // IAPC_BOOT_ARCH
constexpr size_t kFadtFlagsOffset = 112;
constexpr size_t kFadtResetRegisterOffset = 116;
constexpr size_t kFadtResetValueOffset = 128;
constexpr size_t kFadtXDsdtOffset = 140;
constexpr size_t kFadtSleepControlOffset = 244;
constexpr size_t kFadtSleepStatusOffset = 256;
constexpr uint32_t kFadtFlagWbinvd = 1u << 0;
constexpr uint32_t kFadtFlagPowerButtonIsDevice = 1u << 4;  // no fixed-feature power button
constexpr uint32_t kFadtFlagSleepButtonIsDevice = 1u << 5;
constexpr uint32_t kFadtFlagResetRegisterSupported = 1u << 10;
constexpr uint32_t kFadtFlagHardwareReduced = 1u << 20;
// IAPC_BOOT_ARCH: no VGA, no MSI (no PCI at all). The 8042 bit stays clear (there is none, only
// its reset command is served) and so does "CMOS RTC not present" (there is one).
constexpr uint16_t kBootArchNoVga = 1u << 2;
constexpr uint16_t kBootArchNoMsi = 1u << 3;
constexpr uint8_t kCmosCenturyIndex = 0x32;  // where cmos_rtc.cc keeps the century

constexpr uint8_t kGasSystemIo = 1;
constexpr uint8_t kGasAccessByte = 1;

constexpr uint8_t kMadtRevision = 5;
constexpr uint32_t kMadtFlagPcAtCompatible = 1u << 0;  // KVM's irqchip has the two 8259s
constexpr uint8_t kMadtLocalApic = 0;
constexpr uint8_t kMadtIoApic = 1;
constexpr uint8_t kMadtInterruptOverride = 2;
constexpr uint8_t kMadtLocalApicNmi = 4;
constexpr uint32_t kMadtLocalApicEnabled = 1u << 0;
constexpr uint8_t kMadtIsaBus = 0;
constexpr uint16_t kMpsInterruptConformsToBus = 0;
constexpr uint8_t kMadtAllProcessors = 0xff;
constexpr uint8_t kLocalApicNmiLint = 1;  // LINT1 carries NMI on PCs
constexpr uint32_t kMaxVcpus = 255;       // 8-bit xAPIC IDs, 0xff being the broadcast ID

constexpr uint8_t kDsdtRevision = 2;  // 64-bit AML integers

// AML (ACPI 6.5, chapter 20) opcodes and prefixes used by the DSDT.
constexpr uint8_t kAmlZero = 0x00;
constexpr uint8_t kAmlOne = 0x01;
constexpr uint8_t kAmlName = 0x08;
constexpr uint8_t kAmlBytePrefix = 0x0a;
constexpr uint8_t kAmlDWordPrefix = 0x0c;
constexpr uint8_t kAmlScope = 0x10;
constexpr uint8_t kAmlBuffer = 0x11;
constexpr uint8_t kAmlPackage = 0x12;
constexpr uint8_t kAmlRootPrefix = 0x5c;
constexpr uint8_t kAmlExtendedPrefix = 0x5b;
constexpr uint8_t kAmlDevice = 0x82;  // after the extended prefix
// Small resource descriptors (6.4.2): I/O port, IRQ without flags (edge, active high), end tag.
constexpr uint8_t kResourceIoPort = 0x47;
constexpr uint8_t kResourceIoDecode16 = 0x01;
constexpr uint8_t kResourceIrqNoFlags = 0x22;
constexpr uint8_t kResourceEndTag = 0x79;

constexpr size_t kTableAlignment = 16;

using Bytes = std::vector<uint8_t>;

void Append(Bytes& out, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void Append(Bytes& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }

void Append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

void Store(Bytes& out, size_t offset, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) out.at(offset + i) = static_cast<uint8_t>(value >> (8 * i));
}

// The byte that makes bytes [0, length) of `data` sum to zero, the byte at `at` counted as 0.
uint8_t ChecksumFor(const Bytes& data, size_t length, size_t at) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; ++i) {
    if (i != at) sum = static_cast<uint8_t>(sum + data[i]);
  }
  return static_cast<uint8_t>(-sum);
}

Bytes TableHeader(std::string_view signature, uint8_t revision) {
  Bytes table;
  Append(table, signature);
  Append(table, 0, 4);  // length, set by Seal
  table.push_back(revision);
  table.push_back(0);  // checksum, set by Seal
  Append(table, kOemId);
  Append(table, kOemTableId);
  Append(table, kOemRevision, 4);
  Append(table, kCreatorId);
  Append(table, kCreatorRevision, 4);
  return table;
}

// Fills in the header's length and checksum once the table is complete.
void Seal(Bytes& table) {
  Store(table, kHeaderLengthOffset, table.size(), 4);
  table[kHeaderChecksumOffset] = ChecksumFor(table, table.size(), kHeaderChecksumOffset);
}

void StoreIoRegister(Bytes& table, size_t offset, uint16_t port) {
  table.at(offset) = kGasSystemIo;
  table.at(offset + 1) = 8;  // register width in bits
  table.at(offset + 2) = 0;  // bit offset
  table.at(offset + 3) = kGasAccessByte;
  Store(table, offset + 4, port, 8);
}

Bytes BuildFadt(uint64_t dsdt_address) {
  Bytes fadt = TableHeader("FACP", kFadtRevision);
  fadt.resize(kFadtBytes, 0);  // no SCI, SMI command, PM1/PM2/PM timer/GPE blocks, FACS
  fadt[kFadtCenturyOffset] = kCmosCenturyIndex;
  Store(fadt, kFadtBootArchitectureOffset, kBootArchNoVga | kBootArchNoMsi, 2);
  Store(fadt, kFadtFlagsOffset,
        kFadtFlagWbinvd | kFadtFlagPowerButtonIsDevice | kFadtFlagSleepButtonIsDevice |
            kFadtFlagResetRegisterSupported | kFadtFlagHardwareReduced,
        4);
  StoreIoRegister(fadt, kFadtResetRegisterOffset, kResetControlPort);
  fadt[kFadtResetValueOffset] = kAcpiResetValue;
  // Only the 64-bit field: the spec wants the 32-bit DSDT field zero when X_DSDT is set.
  Store(fadt, kFadtXDsdtOffset, dsdt_address, 8);
  StoreIoRegister(fadt, kFadtSleepControlOffset, kAcpiSleepControlPort);
  StoreIoRegister(fadt, kFadtSleepStatusOffset, kAcpiSleepStatusPort);
  Seal(fadt);
  return fadt;
}

Bytes BuildMadt(uint32_t vcpu_count) {
  Bytes madt = TableHeader("APIC", kMadtRevision);
  Append(madt, kLocalApicAddress, 4);
  Append(madt, kMadtFlagPcAtCompatible, 4);
  // Each entry: its type, its length, then its fields.
  for (uint32_t id = 0; id < vcpu_count; ++id) {
    // KVM gives vCPU n the APIC ID n (and the CPUID personality says so); the UID is the same.
    Append(madt, kMadtLocalApic, 1);
    Append(madt, 8, 1);
    Append(madt, id, 1);  // ACPI processor UID
    Append(madt, id, 1);  // APIC ID
    Append(madt, kMadtLocalApicEnabled, 4);
  }
  Append(madt, kMadtIoApic, 1);
  Append(madt, 12, 1);
  Append(madt, kIoApicId, 1);
  Append(madt, 0, 1);  // reserved
  Append(madt, kIoApicAddress, 4);
  Append(madt, 0, 4);  // global system interrupt base
  Append(madt, kMadtInterruptOverride, 1);
  Append(madt, 10, 1);
  Append(madt, kMadtIsaBus, 1);
  Append(madt, kTimerIsaIrq, 1);
  Append(madt, kTimerGsi, 4);
  Append(madt, kMpsInterruptConformsToBus, 2);  // ISA: edge, active high
  Append(madt, kMadtLocalApicNmi, 1);
  Append(madt, 6, 1);
  Append(madt, kMadtAllProcessors, 1);
  Append(madt, kMpsInterruptConformsToBus, 2);
  Append(madt, kLocalApicNmiLint, 1);
  Seal(madt);
  return madt;
}

// AML objects: each returns its complete encoding.
Bytes AmlNameSeg(std::string_view name) {
  if (name.size() != 4) {
    throw VmmError(absl::StrFormat("AML name \"%s\" is not 4 characters", name));
  }
  return Bytes(name.begin(), name.end());
}

Bytes AmlWithPackageLength(std::initializer_list<uint8_t> opcode, const Bytes& content) {
  Bytes out(opcode);
  Append(out, AmlPackageLength(content.size()));
  Append(out, content);
  return out;
}

Bytes AmlName(std::string_view name, const Bytes& value) {
  Bytes out{kAmlName};
  Append(out, AmlNameSeg(name));
  Append(out, value);
  return out;
}

Bytes AmlDWord(uint32_t value) {
  Bytes out{kAmlDWordPrefix};
  Append(out, value, 4);
  return out;
}

Bytes AmlByte(uint8_t value) {
  if (value == 0) return {kAmlZero};
  if (value == 1) return {kAmlOne};
  return {kAmlBytePrefix, value};
}

Bytes AmlBuffer(const Bytes& bytes) {
  Bytes content = AmlByte(static_cast<uint8_t>(bytes.size()));  // BufferSize
  if (bytes.size() > 0xff) throw VmmError("AML buffer above 255 bytes");
  Append(content, bytes);
  return AmlWithPackageLength({kAmlBuffer}, content);
}

Bytes AmlPackage(const std::vector<Bytes>& elements) {
  Bytes content{static_cast<uint8_t>(elements.size())};  // NumElements
  for (const Bytes& element : elements) Append(content, element);
  return AmlWithPackageLength({kAmlPackage}, content);
}

Bytes AmlDevice(std::string_view name, const std::vector<Bytes>& objects) {
  Bytes content = AmlNameSeg(name);
  for (const Bytes& object : objects) Append(content, object);
  return AmlWithPackageLength({kAmlExtendedPrefix, kAmlDevice}, content);
}

Bytes AmlRootScope(std::string_view name, const std::vector<Bytes>& objects) {
  Bytes content{kAmlRootPrefix};
  Append(content, AmlNameSeg(name));
  for (const Bytes& object : objects) Append(content, object);
  return AmlWithPackageLength({kAmlScope}, content);
}

// COM1's resources: its eight ports and IRQ 4.
Bytes Com1Resources() {
  Bytes resources{kResourceIoPort, kResourceIoDecode16};
  Append(resources, kCom1Base, 2);  // minimum base
  Append(resources, kCom1Base, 2);  // maximum base: fixed
  Append(resources, 1, 1);          // alignment
  Append(resources, kCom1PortCount, 1);
  resources.push_back(kResourceIrqNoFlags);
  Append(resources, 1u << kCom1Irq, 2);  // IRQ mask
  resources.push_back(kResourceEndTag);
  resources.push_back(0);  // checksum 0: "the checksum is not there"
  return resources;
}

Bytes BuildDsdt() {
  Bytes dsdt = TableHeader("DSDT", kDsdtRevision);
  const std::vector<Bytes> com1 = {
      AmlName("_HID", AmlDWord(EisaId("PNP0501"))),  // a 16550A-compatible UART
      AmlName("_UID", AmlByte(1)),
      AmlName("_CRS", AmlBuffer(Com1Resources())),
  };
  Append(dsdt, AmlRootScope("_SB_", {AmlDevice("COM1", com1)}));
  // \_S5: SLP_TYPa (written to the sleep control register), SLP_TYPb (no PM1b: unused).
  Append(dsdt, AmlName("_S5_", AmlPackage({AmlByte(kAcpiSleepTypeS5), AmlByte(0)})));
  Seal(dsdt);
  return dsdt;
}

Bytes BuildXsdt(std::initializer_list<uint64_t> tables) {
  Bytes xsdt = TableHeader("XSDT", kXsdtRevision);
  for (uint64_t address : tables) Append(xsdt, address, 8);
  Seal(xsdt);
  return xsdt;
}

Bytes BuildRsdp(uint64_t xsdt_address) {
  Bytes rsdp;
  Append(rsdp, "RSD PTR ");
  rsdp.push_back(0);  // checksum of the first 20 bytes
  Append(rsdp, kOemId);
  rsdp.push_back(kRsdpRevision);
  Append(rsdp, 0, 4);  // RSDT address: none, the XSDT serves every ACPI 2.0+ OS
  Append(rsdp, kRsdpBytes, 4);
  Append(rsdp, xsdt_address, 8);
  rsdp.push_back(0);  // extended checksum, of all 36 bytes
  Append(rsdp, 0, 3);
  rsdp[kRsdpChecksumOffset] = ChecksumFor(rsdp, kRsdpV1ChecksummedBytes, kRsdpChecksumOffset);
  rsdp[kRsdpExtendedChecksumOffset] = ChecksumFor(rsdp, kRsdpBytes, kRsdpExtendedChecksumOffset);
  return rsdp;
}

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

std::vector<uint8_t> AmlPackageLength(uint64_t content_bytes) {
  // One byte holds up to 63; with n more bytes the lead byte keeps 4 bits and each extra 8.
  if (content_bytes + 1 <= 0x3f) return {static_cast<uint8_t>(content_bytes + 1)};
  for (uint64_t extra = 1; extra <= 3; ++extra) {
    const uint64_t total = content_bytes + 1 + extra;
    if (total < (uint64_t{1} << (4 + 8 * extra))) {
      Bytes out{static_cast<uint8_t>((extra << 6) | (total & 0x0f))};
      for (uint64_t i = 0; i < extra; ++i) {
        out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
      }
      return out;
    }
  }
  throw VmmError(
      absl::StrFormat("AML package of %u bytes exceeds the 2^28 a PkgLength holds", content_bytes));
}

uint32_t EisaId(std::string_view id) {
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool valid = id.size() == 7 && is_upper(id[0]) && is_upper(id[1]) && is_upper(id[2]);
  for (size_t i = 3; valid && i < 7; ++i) valid = hex_value(id[i]) >= 0;
  if (!valid) {
    throw VmmError(absl::StrFormat("\"%s\" is not an EISA ID (AAA and 4 hex digits)", id));
  }
  // Three letters of 5 bits ('A' = 1) and the product number, both stored big-endian.
  const uint32_t vendor =
      uint32_t(id[0] - '@') << 10 | uint32_t(id[1] - '@') << 5 | uint32_t(id[2] - '@');
  uint32_t product = 0;
  for (size_t i = 3; i < 7; ++i) product = product << 4 | static_cast<uint32_t>(hex_value(id[i]));
  return (vendor >> 8) | (vendor & 0xff) << 8 | (product >> 8) << 16 | (product & 0xff) << 24;
}

AcpiTables BuildAcpiTables(uint32_t vcpu_count, uint64_t base_address) {
  if (vcpu_count == 0 || vcpu_count > kMaxVcpus) {
    throw VmmError(
        absl::StrFormat("the MADT describes 1 to %u vCPUs, not %u", kMaxVcpus, vcpu_count));
  }
  // Tables without pointers first; then each pointer is known before the table holding it.
  const Bytes madt = BuildMadt(vcpu_count);
  const Bytes dsdt = BuildDsdt();
  const uint64_t rsdp_address = base_address;
  const uint64_t xsdt_address = AlignUp(rsdp_address + kRsdpBytes, kTableAlignment);
  const uint64_t xsdt_bytes = kHeaderBytes + 2 * 8;
  const uint64_t fadt_address = AlignUp(xsdt_address + xsdt_bytes, kTableAlignment);
  const uint64_t madt_address = AlignUp(fadt_address + kFadtBytes, kTableAlignment);
  const uint64_t dsdt_address = AlignUp(madt_address + madt.size(), kTableAlignment);

  const std::pair<uint64_t, Bytes> placed[] = {
      {rsdp_address, BuildRsdp(xsdt_address)},
      {xsdt_address, BuildXsdt({fadt_address, madt_address})},
      {fadt_address, BuildFadt(dsdt_address)},
      {madt_address, madt},
      {dsdt_address, dsdt},
  };
  AcpiTables tables;
  tables.rsdp_address = rsdp_address;
  for (const auto& [address, table] : placed) {
    tables.bytes.resize(address - base_address, 0);
    Append(tables.bytes, table);
  }
  return tables;
}

uint64_t WriteAcpiTables(GuestMemory& memory, uint32_t vcpu_count) {
  const AcpiTables tables = BuildAcpiTables(vcpu_count, kAcpiTablesAddress);
  if (tables.bytes.size() > kAcpiTablesEnd - kAcpiTablesAddress) {
    throw VmmError(absl::StrFormat("ACPI tables of %u bytes do not fit in [%#x, %#x)",
                                   tables.bytes.size(), kAcpiTablesAddress, kAcpiTablesEnd));
  }
  auto destination = memory.At(kAcpiTablesAddress, tables.bytes.size());
  std::memcpy(destination.data(), tables.bytes.data(), tables.bytes.size());
  return tables.rsdp_address;
}

}  // namespace pvops::vmm
