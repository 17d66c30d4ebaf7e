/* SPDX-License-Identifier: MIT */
// A simulated VMware machine for the VMI backend's host tests.
//
// - The backdoor answers as QEMU's hw/i386/vmport.c does: GETVERSION gives EAX = 6 and
//   EBX = 'VMXh' (ECX = 2, ESX); GETHZ gives EBX = 0xffffffff ("cannot tell", what QEMU says
//   under TCG) unless a test sets frequencies; other commands give EAX = 0xffffffff.
// - A 128 KiB option-ROM window at guest-physical 0xC0000, in executable host memory, where
//   tests place the real ROM images rom/ builds (PVOPS_VMI_ROM_DIR).
// - Calls into the ROM arrive through arch::call_stub. get_reloc runs natively: it is the
//   ROM's own position-independent, unprivileged code. Every other entry is identified by its
//   call number (from the real get_reloc) and its body modeled on the simulated CPU as the
//   reference ROM's assembly does it. What the real bodies do on real hardware is the `vmware`
//   environment's job.
#pragma once

#include <stdint.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/vmi/vmi_abi.h"
#include "bare_metal_machine.h"

namespace pvops::test {

inline constexpr uint64_t kRomPhys = 0xc3000;  // where SeaBIOS put it in the vmware env
inline constexpr uint32_t kVmxVersion = 6;

// A ROM image built by rom/: "" for the good one, else "checksum", "offset" or "length".
std::vector<uint8_t> LoadRomImage(const std::string& corruption = "");

// Sets the last byte so the image sums to 0 again (after a test edited it).
void FixChecksum(std::vector<uint8_t>* image);

// The 128 KiB window 0xC0000-0xDFFFF as executable host memory, plus a second, read-only and
// executable view of the same memory: what a kernel's env.map_exec hands out.
class RomWindow {
 public:
  static constexpr uint64_t kBytes = VMI_ROM_WINDOW_END - VMI_ROM_WINDOW_START;
  RomWindow();
  ~RomWindow();
  RomWindow(const RomWindow&) = delete;
  RomWindow& operator=(const RomWindow&) = delete;
  uint8_t* At(uint64_t phys) const { return bytes_ + (phys - VMI_ROM_WINDOW_START); }
  const uint8_t* ExecAt(uint64_t phys) const { return exec_ + (phys - VMI_ROM_WINDOW_START); }
  void Place(const std::vector<uint8_t>& image, uint64_t phys);

 private:
  int fd_ = -1;
  uint8_t* bytes_ = nullptr;
  const uint8_t* exec_ = nullptr;
};

struct RelocAnswer {
  uint64_t entry;
  uint64_t type;
};
// Calls the ROM's get_reloc slot at `slot` natively (System V: the answer in rax:rdx).
RelocAnswer RunGetRelocNatively(const void* slot, uint32_t call);

// One modeled call into the ROM: its call number and the registers it was given.
struct RomCallRecord {
  uint32_t call;
  arch::HypercallRegs in;
};

class VmwareMachineTest : public BareMetalMachineTest {
 protected:
  VmwareMachineTest();

  // Places an image at `phys` (the ROM the stub handler answers for).
  void PlaceRom(const std::vector<uint8_t>& image, uint64_t phys = kRomPhys);
  // The VMwareVMware block at 0x40000000, with leaf 0x40000010 (TSC kHz, APIC kHz, features)
  // when `timing` is given.
  void VmwareCpuid(std::optional<pvops_cpuid_regs> timing = std::nullopt);
  // pvops_init on CPU 0; returns its status.
  pvops_status Init(const char* cmdline = nullptr, uint32_t entry = PVOPS_ENTRY_PVH);

  // The calls modeled so far, by call number, and those with one number.
  std::vector<uint32_t> CallNumbers() const;
  std::vector<RomCallRecord> CallsOf(uint32_t call) const;
  void ForgetRomCalls() { rom_calls_.clear(); }
  // The entry the real get_reloc gives for `call` at the placed ROM (0 unless CALL_REL).
  uint64_t EntryOf(uint32_t call);
  // Where the ROM's code runs: the window, or its executable view once the env's map_exec
  // hands that out (UseExecView).
  const uint8_t* CodeAt(uint64_t phys) const {
    return exec_view_ ? window_.ExecAt(phys) : window_.At(phys);
  }
  void UseExecView() {
    exec_view_ = true;
    call_at_entry_.clear();
  }

  // The kernel's env.map_exec for Init (nullptr: none).
  const void* (*map_exec_)(uint64_t pa, uint64_t len) = nullptr;

  // The hypervisor's answers.
  uint32_t vmx_version_ = kVmxVersion;
  bool backdoor_present_ = true;
  uint64_t gethz_tsc_hz_ = 0;  // 0: GETHZ says it cannot tell
  uint32_t gethz_apic_hz_ = 0;
  // A hostile or broken ROM: answers replacing the real get_reloc's / init's.
  std::function<std::optional<RelocAnswer>(uint32_t call)> reloc_override_;
  std::optional<int32_t> init_override_;

  RomWindow window_;
  bool exec_view_ = false;
  uint64_t rom_phys_ = 0;
  std::vector<RomCallRecord> rom_calls_;

 private:
  void AnswerBackdoor(arch::HypercallRegs& r, bool through_port);
  void HandleRomCall(const void* stub, arch::HypercallRegs& r);
  void ModelBody(uint32_t call, arch::HypercallRegs& r);
  uint32_t CallNumberAt(uint64_t entry);
  std::map<uint64_t, uint32_t> call_at_entry_;
};

}  // namespace pvops::test
