// SPDX-License-Identifier: MIT
// pvops-vmm: boots a PVH guest image on /dev/kvm with an in-kernel irqchip, N vCPUs and ACPI
// tables describing them, forwards its serial console, and ends with the code the guest wrote to
// port 0xf4 (or the fault code when the guest faulted, reset or powered off instead).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "console_output.h"
#include "flag_spelling.h"
#include "host_debug_exit.h"
#include "hostile.h"
#include "l1_trace.h"
#include "move_plan.h"
#include "personality.h"
#include "static_key_holder.h"
#include "virtual_machine.h"
#include "vmm_error.h"

ABSL_FLAG(uint32_t, cpus, 2,
          "number of vCPUs; the first boots, the others wait for INIT-SIPI-SIPI");
ABSL_FLAG(uint32_t, memory_mib, 256, "guest RAM in MiB");
ABSL_FLAG(int32_t, vcpus_on_host_cpu, -1,
          "run every vCPU thread on this host CPU (an overcommitted host); -1 leaves them free");
ABSL_FLAG(std::string, cmdline, "", "the guest's command line (hvm_start_info.cmdline_paddr)");
ABSL_FLAG(std::string, initrd, "",
          "a file loaded at the top of guest RAM and passed as hvm_start_info module 0 (Linux's "
          "initramfs)");
ABSL_FLAG(std::string, personality, "kvm",
          "the hypervisor the guest sees: kvm, hyperv (KVM's Hyper-V leaves only), hyperv-kvm "
          "(both, KVM at 0x40000100), xen (Xen 4.17's HVM interface on KVM's Xen emulation) or "
          "vmware (the VMware backdoor, and --option-rom)");
ABSL_FLAG(std::string, option_rom, "",
          "personality vmware: an option ROM placed in the guest's option-ROM window at 0xc0000 "
          "(the project's VMI ROM)");
ABSL_FLAG(uint32_t, kvm_features_clear, 0,
          "bits of KVM's feature leaf (base + 1) EAX withheld from the guest");
ABSL_FLAG(uint32_t, hv_vp_index_stride, 1,
          "Hyper-V personalities: vCPU n gets VP index n * stride (>= 64 puts vCPU 1 past the "
          "first bank)");
ABSL_FLAG(uint32_t, hv_privileges_clear, 0,
          "Hyper-V personalities: bits of 0x40000003 EAX withheld");
ABSL_FLAG(uint32_t, hv_hints_clear, 0, "Hyper-V personalities: bits of 0x40000004 EAX withheld");
ABSL_FLAG(std::string, hostile, "",
          "kvm and Hyper-V personalities: comma-separated ways to break the interface "
          "(hostile.h; envs/hostile-*), e.g. max-below-base or kvmclock-odd");
ABSL_FLAG(std::string, move, "",
          "a move plan, e.g. kvm,vmware,xen: the VM starts with the first personality (which "
          "replaces --personality) and the running guest is moved to each next one in turn "
          "(the move port, docs/guest-protocol.md); empty: no moves, the port is not answered");
ABSL_FLAG(int32_t, move_after_ms, -1,
          "with --move: request each hop this many ms after the guest registers its mailbox and "
          "after each resume; -1: only when the guest asks");
ABSL_FLAG(int32_t, move_ready_timeout_ms, 10000,
          "with --move: a guest that has not said ready this long after a request ends the run");
ABSL_FLAG(int32_t, timeout, 0, "seconds before the run is ended as a fault; 0 for no limit");
ABSL_FLAG(bool, hold_static_keys, false,
          "run no guest: keep an idle VM until killed, so later VMs never make KVM rewrite "
          "kernel code");
ABSL_FLAG(bool, exit_passthrough, false,
          "repeat the guest's exit code (or the fault code) on this machine's own port 0xf4");

namespace pvops::vmm {
namespace {

constexpr uint32_t kFaultExitCode = 0x12;  // docs/guest-protocol.md: CPU fault / panic
constexpr uint32_t kGuestPassCode = 0x10;  // docs/guest-protocol.md: every case passed

std::vector<uint8_t> ReadFile(const std::string& path, const char* what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw VmmError(absl::StrCat("cannot open the ", what, " ", path));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(file),
                              std::istreambuf_iterator<char>());
}

std::string StatLine(const RunResult& result, uint32_t vcpus) {
  std::string line = "stat:";
  for (const auto& [name, value] : result.kvm_counters)
    absl::StrAppend(&line, " kvm_", name, "=", value);
  absl::StrAppend(&line, " vmm_vcpus=", vcpus, " vmm_run_ms=", result.run_time.count(),
                  " vmm_stop_ms=", result.stop_time.count(),
                  " vmm_unhandled_pio=", result.unhandled_port_accesses,
                  " vmm_unhandled_mmio=", result.unhandled_mmio_accesses);
  absl::StrAppend(&line, " vmm_hv_synic_exits=", result.hyperv_synic_exits,
                  " vmm_hv_hcall_exits=", result.hyperv_hcall_exits, result.personality_stats,
                  result.move_stats);
  return line;
}

// Ends the run: the exit code on this machine's port when asked, else as the process status.
int End(ConsoleOutput& console, uint32_t code, uint8_t size, bool passthrough) {
  console.Drain();
  if (passthrough) {
    try {
      WriteHostDebugExit(code, size);
      console.Note(absl::StrFormat("writing %#x to port 0xf4 did not end this machine", code));
    } catch (const VmmError& error) {
      console.Note(error.what());
    }
  }
  return static_cast<int>(code & 0xff);
}

// The options that apply to personality `name`, from flags given for the whole plan.
PersonalityOptions OptionsFor(std::string_view name, const PersonalityOptions& all) {
  PersonalityOptions options;
  if (name == "vmware") options.option_rom = all.option_rom;
  if (name == "kvm" || name == "hyperv-kvm") options.kvm_features_clear = all.kvm_features_clear;
  if (name == "kvm" || name == "hyperv" || name == "hyperv-kvm") options.hostile = all.hostile;
  if (name == "hyperv" || name == "hyperv-kvm") {
    options.hv_vp_index_stride = all.hv_vp_index_stride;
    options.hv_privileges_clear = all.hv_privileges_clear;
    options.hv_hints_clear = all.hv_hints_clear;
  }
  return options;
}

std::optional<MoveConfig> MoveConfigFromFlags(const PersonalityOptions& all) {
  const std::string spec = absl::GetFlag(FLAGS_move);
  if (spec.empty()) return std::nullopt;
  MoveConfig move;
  move.plan = ParseMovePlan(spec);
  const std::string personality = absl::GetFlag(FLAGS_personality);
  // A --personality left at its default is replaced by the plan's first; another must match it.
  if (personality != absl::FindCommandLineFlag("personality")->DefaultValue() &&
      personality != move.plan.front()) {
    throw VmmError(
        absl::StrCat("--personality=", personality, " but --move starts with ", move.plan.front()));
  }
  if (const int32_t after = absl::GetFlag(FLAGS_move_after_ms); after >= 0) {
    move.timing.request_after = std::chrono::milliseconds(after);
  } else if (after != -1) {
    throw VmmError("--move-after-ms: a count of ms, or -1");
  }
  const int32_t ready_timeout = absl::GetFlag(FLAGS_move_ready_timeout_ms);
  if (ready_timeout <= 0) throw VmmError("--move-ready-timeout-ms must be positive");
  move.timing.ready_timeout = std::chrono::milliseconds(ready_timeout);
  move.make_personality = [all](std::string_view name) {
    return MakePersonality(name, OptionsFor(name, all));
  };
  return move;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pvops-vmm [--options] IMAGE.elf: boots a PVH ELF64 on /dev/kvm.\n"
      "pvops-vmm --hold-static-keys: keeps an idle VM instead (envs/kvm/README.md).\n"
      "Flag names take dashes or underscores (--kvm-features-clear=0x800 is\n"
      "--kvm_features_clear=0x800).");
  // --help lists this file's flags (Abseil's default looks for a file named after the binary).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "main.cc");
  };
  absl::SetFlagsUsageConfig(usage_config);
  std::vector<std::string> arguments = UnderscoreFlagNames({argv, argv + argc});
  std::vector<char*> argument_pointers;
  for (auto& argument : arguments) argument_pointers.push_back(argument.data());
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(argument_pointers.size()), argument_pointers.data());

  ConsoleOutput console(STDOUT_FILENO);
  const bool passthrough = absl::GetFlag(FLAGS_exit_passthrough);
  try {
    if (absl::GetFlag(FLAGS_hold_static_keys)) HoldKvmStaticKeys(console);
    if (positional.size() != 2) throw VmmError("expected exactly one guest image path");
    const std::vector<uint8_t> image = ReadFile(positional[1], "guest image");
    VmConfig config;
    config.vcpu_count = absl::GetFlag(FLAGS_cpus);
    config.memory_bytes = uint64_t{absl::GetFlag(FLAGS_memory_mib)} << 20;
    config.vcpus_on_host_cpu = absl::GetFlag(FLAGS_vcpus_on_host_cpu);
    config.command_line = absl::GetFlag(FLAGS_cmdline);
    if (const std::string initrd = absl::GetFlag(FLAGS_initrd); !initrd.empty()) {
      config.initrd = ReadFile(initrd, "initrd");
      if (config.initrd.empty()) throw VmmError(absl::StrCat("the initrd ", initrd, " is empty"));
    }
    config.timeout = std::chrono::seconds(absl::GetFlag(FLAGS_timeout));
    std::vector<uint8_t> option_rom;
    if (const std::string rom = absl::GetFlag(FLAGS_option_rom); !rom.empty())
      option_rom = ReadFile(rom, "option ROM");
    const PersonalityOptions options{
        .kvm_features_clear = absl::GetFlag(FLAGS_kvm_features_clear),
        .hv_vp_index_stride = absl::GetFlag(FLAGS_hv_vp_index_stride),
        .hv_privileges_clear = absl::GetFlag(FLAGS_hv_privileges_clear),
        .hv_hints_clear = absl::GetFlag(FLAGS_hv_hints_clear),
        .hostile = ParseHostile(absl::GetFlag(FLAGS_hostile)),
        .option_rom = option_rom};
    config.move = MoveConfigFromFlags(options);
    auto personality = config.move ? config.move->make_personality(config.move->plan.front())
                                   : MakePersonality(absl::GetFlag(FLAGS_personality), options);

    VirtualMachine vm(config, image, *personality, console);
    const RunResult result = vm.Run();
    // The runner's verdict names the first FAULT: line: the guest's own if it printed one.
    if (!result.fault_line.empty()) console.Line(absl::StrCat("FAULT: ", result.fault_line));
    if (!result.guest_exit) {
      console.Note(absl::StrCat("fault: ", result.fault_reason));
      // A triple fault read the trace already; any other fault reads it here.
      const std::vector<std::string> trace =
          result.l1_trace.empty() ? StopTraceAndTail(kL1Tracefs, kL1TraceLinesOnFault)
                                  : result.l1_trace;
      for (const std::string& line : trace) console.Note(absl::StrCat("l1-trace: ", line));
    }
    // A case that failed on time may have followed a step of KVM's clock: its own record.
    if (!result.guest_exit || result.guest_exit->code != kGuestPassCode) {
      for (const std::string& line : StopTraceAndTail(kL1ClockTracefs, kL1ClockTraceLines))
        console.Note(absl::StrCat("l1-clock-trace: ", line));
      for (const std::string& line : KernelClockMessages("/dev/kmsg"))
        console.Note(absl::StrCat("l1-kernel: ", line));
    }
    console.Line(StatLine(result, config.vcpu_count));
    if (result.guest_exit)
      return End(console, result.guest_exit->code, result.guest_exit->size, passthrough);
    return End(console, kFaultExitCode, 1, passthrough);
  } catch (const std::exception& error) {
    console.Note(absl::StrCat("fault: ", error.what()));
    return End(console, kFaultExitCode, 1, passthrough);
  }
}

}  // namespace
}  // namespace pvops::vmm

int main(int argc, char** argv) { return pvops::vmm::Main(argc, argv); }
