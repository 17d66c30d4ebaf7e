// SPDX-License-Identifier: MIT
#include "terminal_text.h"

#include "absl/strings/str_format.h"

namespace pvops_run {

std::string PrintableForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte >= 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string ConsoleEchoText(std::string_view line) {
  std::string kept;
  kept.reserve(line.size());
  for (std::size_t at = 0; at < line.size(); ++at) {
    if (line[at] == '\r') continue;
    if (line[at] != '\x1b') {
      kept.push_back(line[at]);
      continue;
    }
    // CSI "ESC [ params final" ends at its final byte; anything else is "ESC x".
    if (at + 1 < line.size() && line[at + 1] == '[') {
      at += 2;
      while (at < line.size() && !(line[at] >= 0x40 && line[at] <= 0x7e)) ++at;
    } else {
      ++at;
    }
  }
  return PrintableForTerminal(kept);
}

std::string JsonQuoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20 || byte >= 0x7f) {
          absl::StrAppendFormat(&out, "\\u%04x", byte);
        } else {
          out.push_back(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace pvops_run
