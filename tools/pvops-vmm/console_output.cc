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

void ConsoleOutput::EndPartialLineLocked() {
  if (pending_.empty()) return;
  pending_.push_back('\n');
  WriteLocked(pending_);
  pending_.clear();
}

void ConsoleOutput::PutGuestByte(uint8_t byte) {
  std::lock_guard lock(mutex_);
  pending_.push_back(static_cast<char>(byte));
  if (byte == '\n' || pending_.size() >= kMaxPendingBytes) {
    WriteLocked(pending_);
    pending_.clear();
  }
}

void ConsoleOutput::Note(std::string_view text) {
  std::lock_guard lock(mutex_);
  EndPartialLineLocked();
  WriteLocked("# pvops-vmm: ");
  WriteLocked(text);
  WriteLocked("\n");
}

void ConsoleOutput::Line(std::string_view text) {
  std::lock_guard lock(mutex_);
  EndPartialLineLocked();
  WriteLocked(text);
  WriteLocked("\n");
}

void ConsoleOutput::Drain() {
  std::lock_guard lock(mutex_);
  EndPartialLineLocked();
  // On the L1's serial console write() returns once the bytes are queued; the exit port would end
  // QEMU before the UART sent them.
  if (isatty(fd_)) tcdrain(fd_);
}

}  // namespace pvops::vmm
