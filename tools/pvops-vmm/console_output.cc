// SPDX-License-Identifier: MIT
#include "console_output.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace pvops::vmm {
namespace {

constexpr size_t kMaxPendingBytes = 4096;  // a guest that never ends a line still gets printed

}  // namespace

void ConsoleOutput::WriteLocked(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = write(fd_, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report to
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

void ConsoleOutput::PutVmmLineLocked(std::string line) {
  line.push_back('\n');
  if (pending_.empty())
    WriteLocked(line);
  else
    held_ += line;
}

void ConsoleOutput::PutGuestByte(uint8_t byte) {
  std::lock_guard lock(mutex_);
  pending_.push_back(static_cast<char>(byte));
  if (byte == '\n' || pending_.size() >= kMaxPendingBytes) {
    WriteLocked(pending_);
    pending_.clear();
    WriteLocked(held_);
    held_.clear();
  }
}

void ConsoleOutput::Note(std::string_view text) {
  std::lock_guard lock(mutex_);
  PutVmmLineLocked(std::string("# pvops-vmm: ").append(text));
}

void ConsoleOutput::Line(std::string_view text) {
  std::lock_guard lock(mutex_);
  PutVmmLineLocked(std::string(text));
}

void ConsoleOutput::Drain() {
  std::lock_guard lock(mutex_);
  if (!pending_.empty()) {
    pending_.push_back('\n');
    WriteLocked(pending_);
    pending_.clear();
  }
  WriteLocked(held_);
  held_.clear();
  // On the L1's serial console write() returns once the bytes are queued; the exit port would end
  // QEMU before the UART sent them.
  if (isatty(fd_)) tcdrain(fd_);
}

}  // namespace pvops::vmm
