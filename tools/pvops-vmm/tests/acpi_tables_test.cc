// SPDX-License-Identifier: MIT
// Reads the ACPI tables back from guest memory with a walker of its own (layouts from the ACPI
// 6.5 specification, not from acpi_tables.cc), checking every checksum, length and entry, and
// that what they describe is what the VMM's devices and irqchip routing do.
#include "acpi_tables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "irq_routing.h"
#include "port_io_devices.h"
#include "vmm_error.h"

namespace pvops::vmm {
namespace {

constexpr uint64_t kRam = 2ull << 20;

uint64_t Le(const std::vector<uint8_t>& bytes, size_t offset, size_t width) {
  EXPECT_LE(offset + width, bytes.size());
  if (offset + width > bytes.size()) return 0;
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint64_t{bytes[offset + i]} << (8 * i);
  return value;
}

uint8_t Sum(const std::vector<uint8_t>& bytes, size_t length) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length && i < bytes.size(); ++i) {
    sum = static_cast<uint8_t>(sum + bytes[i]);
  }
  return sum;
}

std::vector<uint8_t> ReadGuest(GuestMemory& memory, uint64_t address, uint64_t length) {
  const auto span = memory.At(address, length);
  return {span.begin(), span.end()};
}

// A system description table as the walker found it: header checked, whole table read.
struct Table {
  uint64_t address = 0;
  std::string signature;
  uint8_t revision = 0;
  std::vector<uint8_t> bytes;
};

// The table at `address`: in the tables' area, a length covering at least the header, and a
// checksum over that length summing to zero.
Table ReadTable(GuestMemory& memory, uint64_t address) {
  Table table;
  table.address = address;
  EXPECT_GE(address, kAcpiTablesAddress);
  EXPECT_LT(address + 36, kAcpiTablesEnd);
  const auto header = ReadGuest(memory, address, 36);
  table.signature.assign(header.begin(), header.begin() + 4);
  const auto length = static_cast<uint32_t>(Le(header, 4, 4));
  EXPECT_GE(length, 36u) << table.signature;
  EXPECT_LE(address + length, kAcpiTablesEnd) << table.signature;
  table.revision = header[8];
  table.bytes = ReadGuest(memory, address, std::max<uint32_t>(length, 36));
  EXPECT_EQ(Sum(table.bytes, length), 0) << table.signature << " checksum";
  EXPECT_EQ(std::string(table.bytes.begin() + 10, table.bytes.begin() + 16), "PVOPS ");
  return table;
}

// The generic address structure at `offset`.
struct Gas {
  uint8_t space, bit_width, bit_offset, access_size;
  uint64_t address;
};
Gas ReadGas(const std::vector<uint8_t>& bytes, size_t offset) {
  return {bytes.at(offset), bytes.at(offset + 1), bytes.at(offset + 2), bytes.at(offset + 3),
          Le(bytes, offset + 4, 8)};
}

// ---- A small AML reader for the objects a DSDT of this kind holds (ACPI 6.5, chapter 20). ----

using AmlValue = std::variant<uint64_t, std::vector<uint8_t>, std::vector<uint64_t>>;

class AmlReader {
 public:
  explicit AmlReader(std::vector<uint8_t> code) : code_(std::move(code)) {}

  // Every named object by its full path ("\_SB_.COM1._HID"); fails the test on anything else.
  std::map<std::string, AmlValue> ReadAll() {
    ReadTermList(code_.size(), "\\");
    EXPECT_EQ(at_, code_.size()) << "AML left over";
    return objects_;
  }

  // A PkgLength's value (it counts its own bytes) and how many bytes it took.
  static std::pair<uint64_t, size_t> DecodePackageLength(const std::vector<uint8_t>& bytes,
                                                         size_t at) {
    const uint8_t lead = bytes.at(at);
    const size_t extra = lead >> 6;
    if (extra == 0) return {lead & 0x3f, 1};
    EXPECT_EQ(lead & 0x30, 0) << "bits 4-5 of a multi-byte PkgLength lead byte are reserved";
    uint64_t length = lead & 0x0f;
    for (size_t i = 0; i < extra; ++i) length |= uint64_t{bytes.at(at + 1 + i)} << (4 + 8 * i);
    return {length, 1 + extra};
  }

 private:
  uint8_t Next() {
    if (at_ >= code_.size()) {
      ADD_FAILURE() << "AML ends early";
      return 0;
    }
    return code_[at_++];
  }

  // The end offset of the package starting here.
  size_t PackageEnd(size_t limit) {
    const size_t start = at_;
    const auto [length, bytes] = DecodePackageLength(code_, at_);
    at_ += bytes;
    EXPECT_LE(start + length, limit) << "package runs past its parent at " << start;
    return start + length;
  }

  std::string NameSeg() {
    std::string name;
    for (int i = 0; i < 4; ++i) name.push_back(static_cast<char>(Next()));
    for (char c : name) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    return name;
  }

  std::string NameString(const std::string& scope) {
    if (code_.at(at_) == '\\') {
      ++at_;
      return "\\" + NameSeg();
    }
    return Join(scope, NameSeg());
  }

  static std::string Join(const std::string& scope, const std::string& name) {
    return scope == "\\" ? scope + name : scope + "." + name;
  }

  uint64_t Integer() {
    const uint8_t op = Next();
    auto read = [this](size_t width) {
      uint64_t value = 0;
      for (size_t i = 0; i < width; ++i) value |= uint64_t{Next()} << (8 * i);
      return value;
    };
    switch (op) {
      case 0x00: return 0;
      case 0x01: return 1;
      case 0xff: return ~uint64_t{0};
      case 0x0a: return read(1);
      case 0x0b: return read(2);
      case 0x0c: return read(4);
      case 0x0e: return read(8);
      default: ADD_FAILURE() << "not an integer opcode " << int{op}; return 0;
    }
  }

  AmlValue DataObject(size_t limit) {
    const uint8_t op = code_.at(at_);
    if (op == 0x11) {  // Buffer: PkgLength BufferSize ByteList
      ++at_;
      const size_t end = PackageEnd(limit);
      const uint64_t size = Integer();
      EXPECT_EQ(size, end - at_) << "buffer size against its package";
      std::vector<uint8_t> bytes(code_.begin() + static_cast<long>(at_),
                                 code_.begin() + static_cast<long>(end));
      at_ = end;
      return bytes;
    }
    if (op == 0x12) {  // Package: PkgLength NumElements PackageElementList
      ++at_;
      const size_t end = PackageEnd(limit);
      const uint8_t count = Next();
      std::vector<uint64_t> elements;
      while (at_ < end) elements.push_back(Integer());
      EXPECT_EQ(at_, end);
      EXPECT_EQ(elements.size(), count);
      return elements;
    }
    return Integer();
  }

  void ReadTermList(size_t end, const std::string& scope) {
    while (at_ < end && !::testing::Test::HasFailure()) {
      const uint8_t op = Next();
      if (op == 0x08) {  // Name
        const std::string name = NameString(scope);
        EXPECT_EQ(objects_.count(name), 0u) << name << " declared twice";
        objects_[name] = DataObject(end);
      } else if (op == 0x10) {  // Scope
        const size_t scope_end = PackageEnd(end);
        const std::string inner = NameString(scope);
        ReadTermList(scope_end, inner);
      } else if (op == 0x5b && code_.at(at_) == 0x82) {  // Device
        ++at_;
        const size_t device_end = PackageEnd(end);
        const std::string inner = Join(scope, NameSeg());
        objects_[inner] = uint64_t{0};  // the device itself
        ReadTermList(device_end, inner);
      } else {
        ADD_FAILURE() << "unexpected AML opcode " << int{op} << " at " << at_ - 1;
        return;
      }
    }
    EXPECT_EQ(at_, end);
  }

  std::vector<uint8_t> code_;
  size_t at_ = 0;
  std::map<std::string, AmlValue> objects_;
};

// ---- The walk from the RSDP. ----

struct Walked {
  std::vector<uint8_t> rsdp;
  Table xsdt;
  std::map<std::string, Table> tables;  // by signature, from the XSDT and the FADT's X_DSDT
};

Walked Walk(GuestMemory& memory, uint64_t rsdp_address) {
  Walked walked;
  walked.rsdp = ReadGuest(memory, rsdp_address, 36);
  EXPECT_EQ(std::string(walked.rsdp.begin(), walked.rsdp.begin() + 8), "RSD PTR ");
  EXPECT_EQ(Sum(walked.rsdp, 20), 0) << "RSDP checksum (first 20 bytes)";
  EXPECT_EQ(Sum(walked.rsdp, 36), 0) << "RSDP extended checksum";
  EXPECT_EQ(walked.rsdp[15], 2) << "revision: ACPI 2.0+";
  EXPECT_EQ(Le(walked.rsdp, 20, 4), 36u) << "RSDP length";
  walked.xsdt = ReadTable(memory, Le(walked.rsdp, 24, 8));
  EXPECT_EQ(walked.xsdt.signature, "XSDT");
  EXPECT_EQ((walked.xsdt.bytes.size() - 36) % 8, 0u) << "XSDT entries are 8 bytes";
  for (size_t offset = 36; offset + 8 <= walked.xsdt.bytes.size(); offset += 8) {
    Table table = ReadTable(memory, Le(walked.xsdt.bytes, offset, 8));
    EXPECT_EQ(walked.tables.count(table.signature), 0u) << table.signature << " listed twice";
    walked.tables[table.signature] = std::move(table);
  }
  if (walked.tables.count("FACP") && walked.tables["FACP"].bytes.size() >= 148) {
    walked.tables["DSDT"] = ReadTable(memory, Le(walked.tables["FACP"].bytes, 140, 8));
  }
  return walked;
}

class AcpiTablesTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    rsdp_ = WriteAcpiTables(memory_, GetParam());
    walked_ = Walk(memory_, rsdp_);
  }
  const Table& Get(const std::string& signature) {
    static const Table kMissing;
    auto found = walked_.tables.find(signature);
    if (found == walked_.tables.end()) {
      ADD_FAILURE() << signature << " not found";
      return kMissing;
    }
    return found->second;
  }

  GuestMemory memory_{kRam};
  uint64_t rsdp_ = 0;
  Walked walked_;
};

TEST_P(AcpiTablesTest, RsdpWhereALegacyScanFindsIt) {
  // 16-byte aligned in the BIOS area 0xe0000-0xfffff (ACPI 5.2.5.1), and below it nothing but
  // the reserved hole: the memory map keeps the guest from reusing it.
  EXPECT_EQ(rsdp_ % 16, 0u);
  EXPECT_GE(rsdp_, 0xe0000u);
  EXPECT_LT(rsdp_ + 36, 0x100000u);
  EXPECT_EQ(Le(walked_.rsdp, 16, 4), 0u) << "no RSDT: every table is reached through the XSDT";
}

TEST_P(AcpiTablesTest, XsdtListsExactlyFadtAndMadt) {
  EXPECT_EQ(walked_.xsdt.bytes.size(), 36u + 2 * 8);
  EXPECT_EQ(walked_.tables.size(), 3u);  // FACP, APIC and the DSDT the FADT points to
  EXPECT_TRUE(walked_.tables.count("FACP"));
  EXPECT_TRUE(walked_.tables.count("APIC"));
  EXPECT_TRUE(walked_.tables.count("DSDT"));
}

TEST_P(AcpiTablesTest, FadtIsHardwareReducedWithResetAndSleepRegisters) {
  const Table& fadt = Get("FACP");
  ASSERT_EQ(fadt.bytes.size(), 276u) << "FADT revision 6 length";
  const auto& f = fadt.bytes;
  EXPECT_EQ(fadt.revision, 6);
  const uint64_t flags = Le(f, 112, 4);
  EXPECT_TRUE(flags & (1u << 20)) << "HW_REDUCED_ACPI";
  EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
  EXPECT_EQ(Le(f, 36, 4), 0u) << "FIRMWARE_CTRL: no FACS";
  EXPECT_EQ(Le(f, 132, 8), 0u) << "X_FIRMWARE_CTRL: no FACS";
  EXPECT_EQ(Le(f, 40, 4), 0u) << "32-bit DSDT must be 0 when X_DSDT is set";
  EXPECT_EQ(Le(f, 46, 2), 0u) << "SCI_INT";
  EXPECT_EQ(Le(f, 48, 4), 0u) << "SMI_CMD";
  for (size_t offset = 56; offset < 88; offset += 4) EXPECT_EQ(Le(f, offset, 4), 0u) << offset;
  for (size_t offset = 88; offset < 94; ++offset) EXPECT_EQ(f[offset], 0) << offset;
  for (size_t offset = 148; offset < 244; ++offset) EXPECT_EQ(f[offset], 0) << "X block " << offset;
  const uint64_t boot_architecture = Le(f, 109, 2);
  EXPECT_FALSE(boot_architecture & (1u << 1)) << "no 8042 is declared";
  EXPECT_FALSE(boot_architecture & (1u << 5)) << "the CMOS RTC is there";
  EXPECT_EQ(f[108], 0x32) << "century index of the CMOS RTC";

  // The reset register is what the port devices take as a reset.
  const Gas reset = ReadGas(f, 116);
  EXPECT_EQ(reset.space, 1) << "system I/O";
  EXPECT_EQ(reset.bit_width, 8);
  EXPECT_EQ(reset.bit_offset, 0);
  uint8_t reset_value = f[128];
  ConsoleOutput console(-1);
  PortIoDevices devices(console);
  auto request = devices.Access(static_cast<uint16_t>(reset.address), true, {&reset_value, 1});
  ASSERT_TRUE(request.has_value());
  ASSERT_TRUE(std::holds_alternative<MachineStopRequest>(*request));
  EXPECT_FALSE(std::get<MachineStopRequest>(*request).power_off);

  // Sleeping into \_S5 through the sleep control register is what they take as a power-off.
  const Gas control = ReadGas(f, 244);
  const Gas status = ReadGas(f, 256);
  for (const Gas& gas : {control, status}) {
    EXPECT_EQ(gas.space, 1) << "system I/O";
    EXPECT_EQ(gas.bit_width, 8);
    EXPECT_NE(gas.address, 0u);
  }
  const auto objects =
      AmlReader(std::vector<uint8_t>(Get("DSDT").bytes.begin() + 36, Get("DSDT").bytes.end()))
          .ReadAll();
  ASSERT_TRUE(objects.count("\\_S5_"));
  const auto* s5 = std::get_if<std::vector<uint64_t>>(&objects.at("\\_S5_"));
  ASSERT_NE(s5, nullptr);
  ASSERT_GE(s5->size(), 1u);
  uint8_t sleep = static_cast<uint8_t>(((*s5)[0] & 7) << 2 | 0x20);  // SLP_TYP | SLP_EN
  uint8_t awake = 0xff;
  EXPECT_FALSE(devices.Access(static_cast<uint16_t>(status.address), false, {&awake, 1}));
  EXPECT_EQ(awake & 0x80, 0) << "WAK_STS clear";
  request = devices.Access(static_cast<uint16_t>(control.address), true, {&sleep, 1});
  ASSERT_TRUE(request.has_value());
  ASSERT_TRUE(std::holds_alternative<MachineStopRequest>(*request));
  EXPECT_TRUE(std::get<MachineStopRequest>(*request).power_off);
}

TEST_P(AcpiTablesTest, MadtHasEachVcpuTheIoApicAndTheTimerOverride) {
  const Table& madt = Get("APIC");
  const auto& m = madt.bytes;
  ASSERT_GE(m.size(), 44u);
  EXPECT_EQ(Le(m, 36, 4), 0xfee00000u) << "local APIC address";
  EXPECT_EQ(Le(m, 40, 4) & 1, 1u) << "PCAT_COMPAT: KVM's irqchip has the 8259s";
  std::vector<int> apic_ids, processor_uids;
  int io_apics = 0, timer_overrides = 0, nmis = 0;
  size_t offset = 44;
  while (offset + 2 <= m.size()) {
    const uint8_t type = m[offset];
    const uint8_t length = m[offset + 1];
    ASSERT_GE(length, 2) << "entry at " << offset;
    ASSERT_LE(offset + length, m.size()) << "entry at " << offset << " runs past the MADT";
    switch (type) {
      case 0:  // processor local APIC
        ASSERT_EQ(length, 8);
        processor_uids.push_back(m[offset + 2]);
        apic_ids.push_back(m[offset + 3]);
        EXPECT_EQ(Le(m, offset + 4, 4), 1u) << "enabled";
        break;
      case 1:  // I/O APIC
        ASSERT_EQ(length, 12);
        ++io_apics;
        EXPECT_EQ(m[offset + 2], 0) << "KVM's IOAPIC ID";
        EXPECT_EQ(Le(m, offset + 4, 4), 0xfec00000u);
        EXPECT_EQ(Le(m, offset + 8, 4), 0u) << "GSI base";
        break;
      case 2: {  // interrupt source override
        ASSERT_EQ(length, 10);
        EXPECT_EQ(m[offset + 2], 0) << "ISA bus";
        EXPECT_EQ(m[offset + 3], 0) << "only IRQ 0 is moved";
        const uint64_t gsi = Le(m, offset + 4, 4);
        EXPECT_EQ(gsi, 2u);
        EXPECT_EQ(Le(m, offset + 8, 2), 0u) << "flags: conforms to the ISA bus";
        // KVM's routing takes the PIT's GSI 0 to that IOAPIC pin.
        bool routed = false;
        for (const kvm_irq_routing_entry& route : BuildPcIrqRouting()) {
          if (route.gsi == 0 && route.u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
            routed = route.u.irqchip.pin == gsi;
          }
        }
        EXPECT_TRUE(routed);
        ++timer_overrides;
        break;
      }
      case 4:  // local APIC NMI
        ASSERT_EQ(length, 6);
        EXPECT_EQ(m[offset + 2], 0xff) << "all processors";
        EXPECT_EQ(m[offset + 5], 1) << "LINT1";
        ++nmis;
        break;
      default: ADD_FAILURE() << "unexpected MADT entry type " << int{type};
    }
    offset += length;
  }
  EXPECT_EQ(offset, m.size()) << "entries fill the MADT exactly";
  ASSERT_EQ(apic_ids.size(), GetParam());
  for (uint32_t i = 0; i < GetParam(); ++i) {
    EXPECT_EQ(apic_ids[i], static_cast<int>(i)) << "KVM's APIC ID of vCPU i is i";
    EXPECT_EQ(processor_uids[i], static_cast<int>(i));
  }
  EXPECT_EQ(io_apics, 1);
  EXPECT_EQ(timer_overrides, 1);
  EXPECT_EQ(nmis, 1);
}

TEST_P(AcpiTablesTest, DsdtDeclaresCom1WithItsPortsAndIrq) {
  const Table& dsdt = Get("DSDT");
  EXPECT_EQ(dsdt.revision, 2) << "64-bit AML integers";
  const auto objects =
      AmlReader(std::vector<uint8_t>(dsdt.bytes.begin() + 36, dsdt.bytes.end())).ReadAll();
  ASSERT_TRUE(objects.count("\\_SB_.COM1"));
  EXPECT_EQ(std::get<uint64_t>(objects.at("\\_SB_.COM1._HID")), 0x0105d041u) << "EisaId(PNP0501)";
  EXPECT_EQ(std::get<uint64_t>(objects.at("\\_SB_.COM1._UID")), 1u);
  const auto& crs = std::get<std::vector<uint8_t>>(objects.at("\\_SB_.COM1._CRS"));
  // Small resource descriptors: I/O port (0x47), IRQ (0x22), end tag (0x79).
  ASSERT_EQ(crs.size(), 8u + 3u + 2u);
  EXPECT_EQ(crs[0], 0x47);
  EXPECT_EQ(crs[1] & 1, 1) << "16-bit decode";
  EXPECT_EQ(Le(crs, 2, 2), kCom1Base) << "minimum";
  EXPECT_EQ(Le(crs, 4, 2), kCom1Base) << "maximum";
  EXPECT_EQ(crs[7], 8) << "ports";
  EXPECT_EQ(crs[8], 0x22);
  EXPECT_EQ(Le(crs, 9, 2), 1u << kCom1Irq) << "IRQ mask";
  EXPECT_EQ(crs[11], 0x79);
  // The end tag's checksum: 0 ("treat as valid") or one that makes the template sum to zero.
  EXPECT_TRUE(crs[12] == 0 || Sum(crs, crs.size()) == 0);
  EXPECT_EQ(objects.size(), 5u) << "COM1, its _HID, _UID, _CRS and \\_S5_";
}

INSTANTIATE_TEST_SUITE_P(VcpuCounts, AcpiTablesTest, ::testing::Values(1u, 2u, 7u, 255u));

TEST(AcpiTables, RefusesVcpuCountsTheMadtCannotHold) {
  EXPECT_THROW(BuildAcpiTables(0, kAcpiTablesAddress), VmmError);
  EXPECT_THROW(BuildAcpiTables(256, kAcpiTablesAddress), VmmError);
  EXPECT_NO_THROW(BuildAcpiTables(255, kAcpiTablesAddress));
}

TEST(AcpiTables, TablesAreBuiltForTheirAddress) {
  // Pointers are absolute: the same tables built for another base point into that base.
  const AcpiTables low = BuildAcpiTables(2, 0xe0000);
  const AcpiTables high = BuildAcpiTables(2, 0xf0000);
  EXPECT_EQ(low.rsdp_address, 0xe0000u);
  EXPECT_EQ(high.rsdp_address, 0xf0000u);
  EXPECT_EQ(Le(low.bytes, 24, 8) + 0x10000, Le(high.bytes, 24, 8));
}

TEST(AmlPackageLength, EncodingsAtTheBoundaries) {
  EXPECT_EQ(AmlPackageLength(0), std::vector<uint8_t>{0x01});
  EXPECT_EQ(AmlPackageLength(62), std::vector<uint8_t>{0x3f});
  // 63 content bytes need a 2-byte PkgLength: 65 = 0x41 -> lead 0x41 (1 more byte, low nibble 1),
  // then 0x41 >> 4 = 0x04.
  EXPECT_EQ(AmlPackageLength(63), (std::vector<uint8_t>{0x41, 0x04}));
  EXPECT_EQ(AmlPackageLength(4093).size(), 2u);  // 4095: the largest 2-byte value
  EXPECT_EQ(AmlPackageLength(4094).size(), 3u);
  EXPECT_EQ(AmlPackageLength((1u << 20) - 4).size(), 3u);
  EXPECT_EQ(AmlPackageLength((1u << 20) - 3).size(), 4u);
  EXPECT_THROW(AmlPackageLength(1u << 28), VmmError);
}

TEST(AmlPackageLength, DecodesToContentPlusItself) {
  for (uint64_t content :
       {0ull, 1ull, 61ull, 62ull, 63ull, 64ull, 200ull, 4092ull, 4093ull, 4094ull, 70000ull,
        (1ull << 20) - 4, (1ull << 20) - 3, (1ull << 28) - 5}) {
    const std::vector<uint8_t> encoded = AmlPackageLength(content);
    const auto [length, bytes] = AmlReader::DecodePackageLength(encoded, 0);
    EXPECT_EQ(bytes, encoded.size()) << content;
    EXPECT_EQ(length, content + encoded.size()) << content;
  }
}

TEST(EisaId, CompressesAsAslDoes) {
  EXPECT_EQ(EisaId("PNP0501"), 0x0105d041u);  // 16550 UART
  EXPECT_EQ(EisaId("PNP0A03"), 0x030ad041u);  // PCI host bridge
  EXPECT_EQ(EisaId("PNP0C0F"), 0x0f0cd041u);  // PCI interrupt link
  EXPECT_THROW(EisaId("PNP050"), VmmError);
  EXPECT_THROW(EisaId("pnp0501"), VmmError);
  EXPECT_THROW(EisaId("PNP05G1"), VmmError);
}

}  // namespace
}  // namespace pvops::vmm
