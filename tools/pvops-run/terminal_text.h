/* SPDX-License-Identifier: MIT */
// Guest output is untrusted bytes: before it reaches a terminal or a JSON file, make it inert.
#pragma once

#include <string>
#include <string_view>

namespace pvops_run {

// Control characters and bytes >= 0x7f become \xNN, so garbage cannot drive the terminal.
std::string PrintableForTerminal(std::string_view text);

// A console line as --verbose shows it: '\r' and terminal escape sequences dropped (firmware
// sends "clear screen"), other control bytes as \xNN.
std::string ConsoleEchoText(std::string_view line);

// A JSON string literal, quotes included. Bytes >= 0x80 are taken as Latin-1 (\u00NN), which
// keeps any byte sequence valid JSON; the guest protocol itself is ASCII.
std::string JsonQuoted(std::string_view text);

}  // namespace pvops_run
