/* SPDX-License-Identifier: MIT */
// The VMM's stdout, shared by every vCPU's serial writes and the VMM's own notes: guest bytes are
// gathered into lines so lines from different vCPUs and the VMM do not interleave mid-line.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace pvops::vmm {

class ConsoleOutput {
 public:
  explicit ConsoleOutput(int fd) : fd_(fd) {}

  void PutGuestByte(uint8_t byte);
  // "# pvops-vmm: <text>" on a line of its own (a comment in the guest's TAP stream).
  void Note(std::string_view text);
  // A whole line as is (the closing stat: line).
  void Line(std::string_view text);
  // Writes out a partial guest line, then the lines held back, and waits until a terminal has
  // sent everything.
  void Drain();

 private:
  void WriteLocked(std::string_view bytes);
  // The VMM's line now, or after the guest's line in progress ends: a run goes on after a
  // note (a move's request), and a guest line cut in two would lose its meaning.
  void PutVmmLineLocked(std::string line);

  int fd_;
  std::mutex mutex_;
  std::string pending_;  // guest bytes since the last newline
  std::string held_;     // the VMM's lines waiting for the guest's line to end
};

}  // namespace pvops::vmm
