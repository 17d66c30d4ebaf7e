// SPDX-License-Identifier: MIT
// The VMI backend: detection (a VMI ROM in the legacy window, or the VMwareVMware CPUID block),
// and an init that uses a ROM only after every check of rom/README.md held, reaches the
// backdoor only from ring 0 once something vouched for it, and leaves the native op wherever
// neither has something better.
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"
#include "backends/vmi/vmi_rom.h"
#include "core/backend.h"
#include "core/tsc_clock.h"
#include "hw/lapic.h"
#include "hw/lapic_timer.h"
#include "hw/tsc.h"

namespace pvops::vmi {

State g_state;

namespace {

constexpr char kVmwareSignature[12] = {'V', 'M', 'w', 'a', 'r', 'e', 'V', 'M', 'w', 'a', 'r', 'e'};
constexpr uint64_t kMinApicHz = hw::kMinApicTimerHz;
constexpr uint64_t kMaxApicHz = hw::kMaxApicTimerHz;

bool SaneApicHz(uint64_t hz) { return hz >= kMinApicHz && hz <= kMaxApicHz; }

uint32_t FeatureForPath(BackdoorPath path) {
  switch (path) {
    case BackdoorPath::kPort: return kFeatureBackdoorPort;
    case BackdoorPath::kVmcall: return kFeatureBackdoorVmcall;
    case BackdoorPath::kVmmcall: return kFeatureBackdoorVmmcall;
    case BackdoorPath::kNone: return 0;
  }
  return 0;
}

// The hypervisor's frequencies, best source first: CPUID 0x40000010 (no exit), the ROM's
// calls (the vendor's code asks for us), the backdoor's GETHZ. Values outside sane bounds are
// hypervisor data that failed validation: ignored.
void DiscoverFrequencies(const core::HvInterface* vmware) {
  State& s = g_state;
  if (vmware != nullptr && vmware->max_leaf >= vmware->base + VMWARE_CPUID_TIMING_LEAF_OFFSET) {
    const pvops_cpuid_regs timing = arch::cpuid(vmware->base + VMWARE_CPUID_TIMING_LEAF_OFFSET, 0);
    if (core::SaneTscKhz(timing.eax)) {
      s.tsc_khz = timing.eax;
      s.tsc_source = FrequencySource::kCpuidLeaf;
    }
    if (SaneApicHz(uint64_t{timing.ebx} * 1000)) {
      s.apic_hz = uint64_t{timing.ebx} * 1000;
      s.apic_source = FrequencySource::kCpuidLeaf;
    }
  }
  const bool rom_asks = Provides(VMI_CALL_GetCycleFrequency) || Provides(VMI_CALL_GetApicFrequency);
  if (s.tsc_khz == 0 && Provides(VMI_CALL_GetCycleFrequency)) {
    const uint64_t khz = CallRom(VMI_CALL_GetCycleFrequency) / 1000;
    if (core::SaneTscKhz(khz)) {
      s.tsc_khz = khz;
      s.tsc_source = FrequencySource::kRom;
    }
  }
  if (s.apic_hz == 0 && Provides(VMI_CALL_GetApicFrequency)) {
    const uint64_t hz = CallRom(VMI_CALL_GetApicFrequency);
    if (SaneApicHz(hz)) {
      s.apic_hz = hz;
      s.apic_source = FrequencySource::kRom;
    }
  }
  // The ROM asked the same backdoor already; without a ROM, ask it here.
  if (!rom_asks && s.backdoor != BackdoorPath::kNone && (s.tsc_khz == 0 || s.apic_hz == 0)) {
    uint64_t tsc_hz = 0;
    uint32_t apic_hz = 0;
    if (BackdoorFrequencies(s.backdoor, &tsc_hz, &apic_hz)) {
      if (s.tsc_khz == 0 && core::SaneTscKhz(tsc_hz / 1000)) {
        s.tsc_khz = tsc_hz / 1000;
        s.tsc_source = FrequencySource::kBackdoor;
      }
      if (s.apic_hz == 0 && SaneApicHz(apic_hz)) {
        s.apic_hz = apic_hz;
        s.apic_source = FrequencySource::kBackdoor;
      }
    }
  }
  if (s.tsc_khz != 0) s.features |= kFeatureTscKhzFromHypervisor;
  if (s.apic_hz != 0) s.features |= kFeatureApicHzFromHypervisor;
}

[[nodiscard]] pvops_status CpuInitWithRomApic(uint32_t cpu) {
  const pvops_status st = hw::LapicCpuInit(cpu);
  // Each CPU looks again, as the native set-up does: the kernel may have switched modes. If
  // this CPU cannot tell, the boot CPU's answer (the same page for every xAPIC) stands.
  if (st == PVOPS_OK) (void)ResolveApicForRom();
  return st;
}

// Irq-flag ops the ROM left native (NONE, NOP): their call sites get the native instruction,
// the others call the ROM's entries directly (vmi_patch.cc).
void NoteNativeIrqFlagCalls(core::BackendReport* report) {
  const uint32_t calls[] = {VMI_CALL_GetInterruptMask, VMI_CALL_SetInterruptMask,
                            VMI_CALL_DisableInterrupts, VMI_CALL_EnableInterrupts};
  uint32_t native = 0;
  for (const uint32_t call : calls) native += Provides(call) ? 0 : 1;
  if (native != 0) report->Note().AddDec(native).Add("/4 irq-flag ops native: the ROM's choice");
}

// The ROM's calls over the native table, each only where the ROM provides it.
void InstallRomOps(pvops_ops* ops) {
  if (Provides(VMI_CALL_CPUID)) ops->cpu.cpuid = Cpuid;
  if (Provides(VMI_CALL_RDMSR)) ops->cpu.read_msr = ReadMsr;
  if (Provides(VMI_CALL_WRMSR)) ops->cpu.write_msr = WriteMsr;
  // The *_safe MSR ops stay native: pvops_fixup_fault recovers only the library's own rdmsr.
  if (Provides(VMI_CALL_IODelay)) ops->cpu.io_delay = IoDelay;
  if (IsNop(VMI_CALL_IODelay)) ops->cpu.io_delay = NoIoDelay;
  if (Provides(VMI_CALL_Halt)) ops->cpu.safe_halt = SafeHalt;

  if (Provides(VMI_CALL_GetInterruptMask)) ops->irq.save_flags = SaveFlags;
  if (Provides(VMI_CALL_SetInterruptMask)) ops->irq.restore_flags = RestoreFlags;
  if (Provides(VMI_CALL_DisableInterrupts)) ops->irq.disable = IrqDisable;
  if (Provides(VMI_CALL_EnableInterrupts)) ops->irq.enable = IrqEnable;
  if (ResolveApicForRom()) {
    g_state.features |= kFeatureRomApic;
    ops->irq.eoi = Eoi;
    ops->irq.send_ipi = SendIpi;
    ops->platform.cpu_init = CpuInitWithRomApic;
  }

  // Every flush point must pass the lazy queue, so these are always the VMI ops; each falls
  // back to the native instruction where the ROM has no call.
  ops->mmu.read_cr3 = ReadCr3;
  ops->mmu.write_cr3 = WriteCr3;
  ops->mmu.set_pte = SetPte;
  ops->mmu.update_pte = UpdatePte;
  ops->mmu.read_pte = ReadPte;
  ops->mmu.flush_tlb_local = FlushTlbLocal;
  ops->mmu.flush_tlb_one = FlushTlbOne;
  ops->mmu.flush_tlb_multi = FlushTlbMulti;
  ops->mmu.lazy_begin = LazyBegin;
  ops->mmu.lazy_flush = LazyFlush;
  ops->mmu.lazy_end = LazyEnd;

  // A rate the hypervisor did not state is the native measurement: native's op already says so.
  ops->time.clock_ns = ClockNs;
  if (g_state.tsc_khz != 0) ops->time.tsc_khz = TscKhz;
  if (Provides(VMI_CALL_Shutdown)) ops->platform.shutdown = Shutdown;
}

}  // namespace

void Probe(const pvops_env& env, const core::HvLeaves& leaves, pvops_candidate* out) {
  // A Xen PV guest runs in ring 3 and sees no BIOS window of its own.
  if (env.entry == PVOPS_ENTRY_XEN_PV) return;
  if (FindSignedRom() != 0) {
    out->priority = core::kPriorityVmiRom;
    core::CopyString(out->signature, sizeof(out->signature), "cVmi");
  }
  const core::HvInterface* hv = leaves.Find(kVmwareSignature);
  if (hv == nullptr) return;
  if (out->priority == core::kPriorityAbsent) {
    out->priority = core::PriorityForBase(hv->base);
    core::CopyString(out->signature, sizeof(out->signature), "VMwareVMware");
  }
  out->base_leaf = hv->base;
  out->max_leaf = hv->max_leaf;
}

[[nodiscard]] pvops_status Init(const pvops_env& env, const pvops_candidate& found, pvops_ops* ops,
                                core::BackendReport* report, core::Reason* why) {
  g_state = State{};
  g_rom = RomCalls{};
  ForgetLazyQueues();
  SetUpClock(0);  // no clock of its own until one is installed below
  // The backdoor and the ROM's privileged bodies need ring 0; only a Xen PV entry is not.
  if (env.entry == PVOPS_ENTRY_XEN_PV) {
    why->Add("entered as Xen PV (ring 3): no VMware interface");
    return PVOPS_ERR_UNSUPPORTED;
  }
  core::HvInterface block{};
  const core::HvInterface* vmware = nullptr;
  if (found.base_leaf != 0) {
    block.base = found.base_leaf;
    block.max_leaf = found.max_leaf;
    vmware = &block;
  }

  char rom_text[PVOPS_REASON_LEN];
  core::Reason rom_why(rom_text, sizeof(rom_text));
  RomLayout layout{};
  const bool rom_usable = FindValidRom(&layout, &rom_why) && LoadRomCalls(layout, &g_rom, &rom_why);
  if (rom_usable) {
    g_state.features |= kFeatureRom;
  } else if (vmware == nullptr) {
    why->Add(rom_text);  // only the ROM vouched for VMware, and it failed its checks
    return PVOPS_ERR_BAD_DATA;
  } else if (FindSignedRom() != 0) {
    g_state.features |= kFeatureRomRefused;
    report->Note().Add(rom_text);  // the CPUID block vouches for the backdoor; paging stays native
  } else {
    report->Note().Add("no VMI ROM: cpu, irq and paging ops stay native");
  }

  // The block or the ROM's init vouched for the backdoor: it is safe to ask now.
  const BackdoorPath path = ChooseBackdoorPath(vmware);
  if (BackdoorVersion(path, &g_state.backdoor_version)) {
    g_state.backdoor = path;
    g_state.features |= FeatureForPath(path);
  } else if (!rom_usable) {
    g_rom = RomCalls{};
    why->Add("VMwareVMware at ").AddHex(found.base_leaf).Add(", but GETVERSION got no answer");
    return PVOPS_ERR_HYPERVISOR;
  }

  DiscoverFrequencies(vmware);
  if (g_state.tsc_khz == 0) {
    report->Note().Add("the hypervisor told no TSC rate");
    hw::NoteClockCalibration(report);
  }
  if (rom_usable) {
    InstallRomOps(ops);
    NoteNativeIrqFlagCalls(report);
    // Without a rate from the hypervisor, the native one (CPUID, or measured: hw/tsc.h).
    SetUpClock(g_state.tsc_khz != 0 ? g_state.tsc_khz : hw::TscKhz());
  } else if (g_state.tsc_khz != 0) {
    SetUpClock(g_state.tsc_khz);
    ops->time.clock_ns = ClockNs;
    ops->time.tsc_khz = TscKhz;
  }
  if (const HypercallOp op = HypercallFor(g_state.backdoor); op != nullptr)
    ops->hypercall.call = op;

  report->version = g_state.backdoor_version;
  report->features[0] = static_cast<uint32_t>(g_rom.rom.phys);
  report->features[1] = uint32_t{g_rom.rom.code_version} << 16 |
                        uint32_t{g_rom.rom.api_major} << 8 | g_rom.rom.api_minor;
  report->features[2] = g_state.features;
  report->features[3] = static_cast<uint32_t>(g_state.tsc_khz);
  return PVOPS_OK;
}

}  // namespace pvops::vmi
