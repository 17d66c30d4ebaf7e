// SPDX-License-Identifier: MIT
#include "l1_trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <deque>
#include <fstream>

#include "absl/strings/str_format.h"

namespace pvops::vmm {
namespace {

// The hex number after `key` in `line` ("rip 0xffffffff8010a46c" for key "rip ").
std::optional<uint64_t> HexAfter(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + key.size());
  rest = rest.substr(0, rest.find(' '));
  if (!rest.starts_with("0x")) return std::nullopt;
  rest.remove_prefix(2);
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), value, 16);
  if (error != std::errc() || end != rest.data() + rest.size() || rest.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::vector<std::string> StopTraceAndTail(const std::string& tracefs, size_t lines) {
  std::string on;
  if (std::ifstream state(tracefs + "/tracing_on"); !(state >> on) || on != "1") return {};
  if (std::ofstream stop(tracefs + "/tracing_on"); !(stop << "0\n")) return {};
  std::ifstream trace(tracefs + "/trace");
  std::deque<std::string> tail;
  for (std::string line; std::getline(trace, line);) {
    if (line.empty() || line[0] == '#') continue;  // the header
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  return {tail.begin(), tail.end()};
}

std::optional<std::string> KernelClockMessage(std::string_view record) {
  const size_t text_at = record.find(';');
  if (text_at == std::string_view::npos) return std::nullopt;
  std::string_view text = record.substr(text_at + 1);
  text = text.substr(0, text.find('\n'));  // continuation lines (" KEY=value") are dropped
  if (text.find("clocksource") == std::string_view::npos &&
      text.find("tsc") == std::string_view::npos && text.find("TSC") == std::string_view::npos) {
    return std::nullopt;
  }
  // The third field is the time in microseconds since boot.
  std::string_view fields = record.substr(0, text_at);
  for (int skip = 0; skip < 2 && fields.find(',') != std::string_view::npos; ++skip) {
    fields.remove_prefix(fields.find(',') + 1);
  }
  const std::string_view usec = fields.substr(0, fields.find(','));
  return absl::StrFormat("[%s us] %s", usec, text);
}

std::vector<std::string> KernelClockMessages(const std::string& kmsg) {
  std::vector<std::string> messages;
  const int fd = open(kmsg.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return messages;
  // Each read returns one record; EAGAIN at the end, EPIPE when the ring overwrote a record.
  char record[8192];
  for (;;) {
    const ssize_t got = read(fd, record, sizeof(record));
    if (got < 0 && errno == EPIPE) continue;
    if (got <= 0) break;
    if (auto message = KernelClockMessage({record, static_cast<size_t>(got)})) {
      messages.push_back(std::move(*message));
    }
  }
  close(fd);
  return messages;
}

std::optional<ShutdownExit> LastShutdownExit(const std::vector<std::string>& lines, uint32_t vcpu) {
  const std::string marker = absl::StrFormat("kvm_exit: vcpu %u reason shutdown ", vcpu);
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    if (line->find(marker) == std::string::npos) continue;
    const std::optional<uint64_t> rip = HexAfter(*line, " rip ");
    const std::optional<uint64_t> info = HexAfter(*line, " intr_info ");
    if (!rip || !info) return std::nullopt;
    return ShutdownExit{*rip, static_cast<uint32_t>(*info)};
  }
  return std::nullopt;
}

std::string DescribeDeliveredEvent(uint32_t info) {
  if ((info & 0x80000000u) == 0) return "no event";
  static constexpr const char* kTypes[] = {"interrupt",          "type 1", "NMI",    "exception",
                                           "software interrupt", "type 5", "type 6", "type 7"};
  return absl::StrFormat("vector %u (%s)", info & 0xffu, kTypes[(info >> 8) & 7u]);
}

}  // namespace pvops::vmm
