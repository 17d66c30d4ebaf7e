/* SPDX-License-Identifier: MIT */
// A fixed-size, truncating text buffer for "why" strings (detection reasons, refusals).
// No heap, no libc: the core formats its few numbers itself.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace pvops::core {

class Reason {
 public:
  // Starts empty.
  Reason(char* buf, size_t size) : buf_(buf), size_(size) { Clear(); }
  // Continues the text already in `buf` (a terminated string), adding "; " before new text.
  static Reason Continue(char* buf, size_t size);
  void Clear();
  Reason& Add(const char* text);
  Reason& AddHex(uint64_t value);  // 0x-prefixed, lower case
  Reason& AddDec(uint64_t value);
  // Adds "; " when something is already there: for lists of independent notes.
  Reason& Separate();
  const char* c_str() const { return buf_; }
  bool empty() const { return len_ == 0; }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

// Copies at most size-1 bytes and terminates; returns the length copied.
size_t CopyString(char* dst, size_t size, const char* src);
bool StringsEqual(const char* a, const char* b);

}  // namespace pvops::core
