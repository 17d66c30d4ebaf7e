// SPDX-License-Identifier: MIT
#include "vmware_machine.h"

#include <asm/processor-flags.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "sim_isa.h"

namespace pvops::test {
namespace {

constexpr uint32_t kX2apicMsrBase = 0x800;
constexpr uint16_t kPostCodePort = 0x80;

}  // namespace

std::vector<uint8_t> LoadRomImage(const std::string& corruption) {
  const std::string path = std::string(PVOPS_VMI_ROM_DIR) + "/pvops-vmi" +
                           (corruption.empty() ? "" : "-bad-" + corruption) + ".rom";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path << " (the pvops_vmi_rom target builds it)";
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void FixChecksum(std::vector<uint8_t>* image) {
  image->back() = 0;
  uint8_t sum = 0;
  for (const uint8_t b : *image) sum = static_cast<uint8_t>(sum + b);
  image->back() = static_cast<uint8_t>(-sum);
}

RomWindow::RomWindow() {
  fd_ = memfd_create("pvops-rom-window", MFD_CLOEXEC);
  if (fd_ < 0 || ftruncate(fd_, kBytes) != 0) {
    ADD_FAILURE() << "no memory file for the ROM window";
    return;
  }
  void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, fd_, 0);
  void* x = mmap(nullptr, kBytes, PROT_READ | PROT_EXEC, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED || x == MAP_FAILED) {
    ADD_FAILURE() << "no executable memory for the ROM window";
    return;
  }
  bytes_ = static_cast<uint8_t*>(p);
  exec_ = static_cast<const uint8_t*>(x);
}

RomWindow::~RomWindow() {
  if (bytes_ != nullptr) munmap(bytes_, kBytes);
  if (exec_ != nullptr) munmap(const_cast<uint8_t*>(exec_), kBytes);
  if (fd_ >= 0) close(fd_);
}

void RomWindow::Place(const std::vector<uint8_t>& image, uint64_t phys) {
  ASSERT_GE(phys, VMI_ROM_WINDOW_START);
  const uint64_t room = VMI_ROM_WINDOW_END - phys;
  std::memcpy(At(phys), image.data(), image.size() < room ? image.size() : room);
}

RelocAnswer RunGetRelocNatively(const void* slot, uint32_t call) {
  using GetReloc = RelocAnswer (*)(uint32_t);
  return reinterpret_cast<GetReloc>(const_cast<void*>(slot))(call);
}

VmwareMachineTest::VmwareMachineTest() {
  model_.hypervisor_bit = true;
  sim_.MapPhys(VMI_ROM_WINDOW_START, window_.At(VMI_ROM_WINDOW_START), RomWindow::kBytes);
  sim_.SetBackdoorHandler([this](arch::HypercallRegs& r) { AnswerBackdoor(r, true); });
  sim_.SetStubHandler([this](const void* stub, arch::HypercallRegs& r) { HandleRomCall(stub, r); });
}

void VmwareMachineTest::PlaceRom(const std::vector<uint8_t>& image, uint64_t phys) {
  window_.Place(image, phys);
  rom_phys_ = phys;
  call_at_entry_.clear();
}

void VmwareMachineTest::VmwareCpuid(std::optional<pvops_cpuid_regs> timing) {
  sim_.SetHypervisorLeaf(0x40000000, timing ? 0x40000010 : 0x40000000, "VMwareVMware");
  if (timing) sim_.SetCpuid(0x40000010, *timing);
  // vmcall/vmmcall reach the same backdoor, with DX holding flags instead of the port.
  for (const auto insn : {arch::HypercallInsn::kVmcall, arch::HypercallInsn::kVmmcall}) {
    sim_.SetHypercallHandler(insn, [this](arch::HypercallRegs& r) { AnswerBackdoor(r, false); });
  }
}

pvops_status VmwareMachineTest::Init(const char* cmdline, uint32_t entry) {
  sim::LoadCpuModel(sim_, model_);
  env_ = sim::MakeEnv(cmdline, entry);
  env_.map_exec = map_exec_;
  return pvops_init(&env_);
}

std::vector<uint32_t> VmwareMachineTest::CallNumbers() const {
  std::vector<uint32_t> calls;
  for (const RomCallRecord& r : rom_calls_) calls.push_back(r.call);
  return calls;
}

std::vector<RomCallRecord> VmwareMachineTest::CallsOf(uint32_t call) const {
  std::vector<RomCallRecord> calls;
  for (const RomCallRecord& r : rom_calls_) {
    if (r.call == call) calls.push_back(r);
  }
  return calls;
}

uint64_t VmwareMachineTest::EntryOf(uint32_t call) {
  const RelocAnswer a = RunGetRelocNatively(CodeAt(rom_phys_ + VMI_OFFSET_GET_RELOC_SLOT), call);
  return a.type == VMI_RELOCATION_CALL_REL ? a.entry : 0;
}

// QEMU's vmport: the magic in EAX and, for the port, DX = 0x5658; else the bus reads ones.
void VmwareMachineTest::AnswerBackdoor(arch::HypercallRegs& r, bool through_port) {
  const bool addressed = static_cast<uint32_t>(r.rax) == VMWARE_BACKDOOR_MAGIC &&
                         (!through_port || static_cast<uint16_t>(r.rdx) == VMWARE_BACKDOOR_PORT);
  if (!backdoor_present_ || !addressed) {
    r.rax = 0xffffffff;
    return;
  }
  switch (static_cast<uint8_t>(r.rcx)) {
    case VMWARE_CMD_GETVERSION:
      r.rbx = VMWARE_BACKDOOR_MAGIC;
      r.rcx = 2;  // vmware-vmx-type: ESX
      r.rax = vmx_version_;
      break;
    case VMWARE_CMD_GETHZ:
      if (gethz_tsc_hz_ != 0 && gethz_apic_hz_ != 0) {
        r.rcx = gethz_apic_hz_;
        r.rbx = gethz_tsc_hz_ >> 32;
        r.rax = static_cast<uint32_t>(gethz_tsc_hz_);
      } else {
        r.rbx = VMWARE_GETHZ_UNSUPPORTED;  // EAX keeps the magic, as QEMU leaves it
      }
      break;
    default: r.rax = 0xffffffff;
  }
}

uint32_t VmwareMachineTest::CallNumberAt(uint64_t entry) {
  if (call_at_entry_.empty()) {
    const void* slot = CodeAt(rom_phys_ + VMI_OFFSET_GET_RELOC_SLOT);
    for (uint32_t call = 0; call < 256; ++call) {
      const RelocAnswer a = RunGetRelocNatively(slot, call);
      if (a.type == VMI_RELOCATION_CALL_REL) call_at_entry_[a.entry] = call;
    }
  }
  const auto it = call_at_entry_.find(entry);
  return it == call_at_entry_.end() ? ~0u : it->second;
}

void VmwareMachineTest::HandleRomCall(const void* stub, arch::HypercallRegs& r) {
  const auto addr = reinterpret_cast<uintptr_t>(stub);
  const auto rom = reinterpret_cast<uintptr_t>(CodeAt(rom_phys_));
  if (addr == rom + VMI_OFFSET_GET_RELOC_SLOT) {
    const uint32_t call = static_cast<uint32_t>(r.rdi);
    std::optional<RelocAnswer> answer;
    if (reloc_override_) answer = reloc_override_(call);
    if (!answer) answer = RunGetRelocNatively(stub, call);
    r.rax = answer->entry;
    r.rdx = answer->type;
    return;
  }
  if (addr == rom + VMI_OFFSET_INIT_SLOT) {
    if (init_override_) {
      r.rax = static_cast<uint32_t>(*init_override_);
      return;
    }
    // The reference init: GETVERSION through the port, 0 when 'VMXh' comes back.
    arch::HypercallRegs b{};
    b.rax = VMWARE_BACKDOOR_MAGIC;
    b.rbx = 0xffffffff;
    b.rcx = VMWARE_CMD_GETVERSION;
    b.rdx = VMWARE_BACKDOOR_PORT;
    sim_.ExecBackdoor(b);
    r.rax = static_cast<uint32_t>(b.rbx) == VMWARE_BACKDOOR_MAGIC ? VMI_INIT_OK
                                                                  : VMI_INIT_NO_HYPERVISOR;
    return;
  }
  const uint32_t call = CallNumberAt(addr);
  if (call == ~0u) {
    ADD_FAILURE() << "a call to 0x" << std::hex << addr << ", no entry of the ROM";
    return;
  }
  rom_calls_.push_back({call, r});
  ModelBody(call, r);
}

// The reference ROM's bodies (rom/vmi_rom.S), instruction for instruction, on the SimCpu.
void VmwareMachineTest::ModelBody(uint32_t call, arch::HypercallRegs& r) {
  sim::SimCpu& cpu = sim_;
  auto backdoor = [&cpu](uint32_t command) {
    arch::HypercallRegs b{};
    b.rax = VMWARE_BACKDOOR_MAGIC;
    b.rbx = 0xffffffff;
    b.rcx = command;
    b.rdx = VMWARE_BACKDOOR_PORT;
    cpu.ExecBackdoor(b);
    return b;
  };
  switch (call) {
    case VMI_CALL_CPUID: {
      const pvops_cpuid_regs v =
          cpu.ExecCpuid(static_cast<uint32_t>(r.rdi), static_cast<uint32_t>(r.rsi));
      std::memcpy(reinterpret_cast<void*>(r.rdx), &v, sizeof(v));
      break;
    }
    case VMI_CALL_WRMSR:
      EXPECT_TRUE(cpu.ExecWrmsr(static_cast<uint32_t>(r.rdi), r.rsi)) << "#GP inside the ROM";
      break;
    case VMI_CALL_RDMSR: {
      const std::optional<uint64_t> v = cpu.ExecRdmsr(static_cast<uint32_t>(r.rdi));
      EXPECT_TRUE(v.has_value()) << "#GP inside the ROM";
      r.rax = v.value_or(0);
      break;
    }
    case VMI_CALL_SetCR3: cpu.ExecWriteCr3(r.rdi); break;
    case VMI_CALL_GetCR3: r.rax = cpu.ExecReadCr3(); break;
    case VMI_CALL_RDTSC: r.rax = cpu.ExecRdtsc(); break;
    case VMI_CALL_EnableInterrupts: cpu.ExecSti(); break;
    case VMI_CALL_DisableInterrupts: cpu.ExecCli(); break;
    case VMI_CALL_GetInterruptMask: r.rax = cpu.ExecSaveFlags(); break;
    case VMI_CALL_SetInterruptMask:
      if ((r.rdi & X86_EFLAGS_IF) != 0)
        cpu.ExecSti();
      else
        cpu.ExecCli();
      break;
    case VMI_CALL_Halt: cpu.ExecStiHlt(); break;
    case VMI_CALL_Shutdown:
      cpu.ExecOut(VMI_REFERENCE_EXIT_PORT, 4, static_cast<uint32_t>(r.rdi));
      cpu.ExecCli();
      cpu.ExecHlt();  // with interrupts off: the simulated machine is dead
      break;
    case VMI_CALL_SetPxE: *reinterpret_cast<uint32_t*>(r.rsi) = static_cast<uint32_t>(r.rdi); break;
    case VMI_CALL_SetPxELong: *reinterpret_cast<uint64_t*>(r.rsi) = r.rdi; break;
    case VMI_CALL_InvalPage: cpu.ExecInvlpg(r.rdi); break;
    case VMI_CALL_FlushTLB:
      if ((r.rdi & VMI_FLUSH_GLOBAL) != 0 && (cpu.ExecReadCr4() & X86_CR4_PGE) != 0) {
        const uint64_t cr4 = cpu.cr4();
        cpu.ExecWriteCr4(cr4 & ~uint64_t{X86_CR4_PGE});
        cpu.ExecWriteCr4(cr4);
      } else if ((r.rdi & (VMI_FLUSH_GLOBAL | VMI_FLUSH_TLB)) != 0) {
        cpu.ExecWriteCr3(cpu.ExecReadCr3());
      }
      break;
    case VMI_CALL_APICWrite: {
      const uint32_t reg = static_cast<uint32_t>(r.rsi) & 0x3f0;
      if (r.rdi != 0) {
        cpu.ExecMmioWrite(reinterpret_cast<volatile uint32_t*>(r.rdi + reg),
                          static_cast<uint32_t>(r.rdx));
      } else {
        EXPECT_TRUE(cpu.ExecWrmsr(kX2apicMsrBase + reg / 16, r.rdx));
      }
      break;
    }
    case VMI_CALL_APICRead: {
      const uint32_t reg = static_cast<uint32_t>(r.rsi) & 0x3f0;
      if (r.rdi != 0) {
        r.rax = cpu.ExecMmioRead(reinterpret_cast<volatile uint32_t*>(r.rdi + reg));
      } else {
        r.rax = cpu.ExecRdmsr(kX2apicMsrBase + reg / 16).value_or(0);
      }
      break;
    }
    case VMI_CALL_IODelay: cpu.ExecOut(kPostCodePort, 1, 0); break;
    case VMI_CALL_GetCycleFrequency: {
      const arch::HypercallRegs b = backdoor(VMWARE_CMD_GETHZ);
      r.rax = static_cast<uint32_t>(b.rbx) == VMWARE_GETHZ_UNSUPPORTED
                  ? 0
                  : (b.rbx & 0xffffffff) << 32 | (b.rax & 0xffffffff);
      break;
    }
    case VMI_CALL_GetCycleCounter: r.rax = r.rdi == VMI_CYCLES_REAL ? cpu.ExecRdtsc() : 0; break;
    case VMI_CALL_SetLazyMode: break;
    case VMI_CALL_GetApicFrequency: {
      const arch::HypercallRegs b = backdoor(VMWARE_CMD_GETHZ);
      r.rax = static_cast<uint32_t>(b.rbx) == VMWARE_GETHZ_UNSUPPORTED ? 0 : b.rcx & 0xffffffff;
      break;
    }
    case VMI_CALL_GetHypervisorVersion: {
      const arch::HypercallRegs b = backdoor(VMWARE_CMD_GETVERSION);
      r.rax = static_cast<uint32_t>(b.rbx) == VMWARE_BACKDOOR_MAGIC ? b.rax & 0xffffffff : 0;
      break;
    }
    default: ADD_FAILURE() << "call " << call << " has no body in the reference ROM";
  }
}

}  // namespace pvops::test
