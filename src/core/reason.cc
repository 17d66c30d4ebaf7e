// SPDX-License-Identifier: MIT
#include "core/reason.h"

namespace pvops::core {

void Reason::Clear() {
  len_ = 0;
  if (size_ > 0) buf_[0] = '\0';
}

Reason Reason::Continue(char* buf, size_t size) {
  Reason r(nullptr, 0);
  r.buf_ = buf;
  r.size_ = size;
  while (r.len_ + 1 < size && buf[r.len_] != '\0') ++r.len_;
  if (size > 0) buf[r.len_] = '\0';
  return r;
}

Reason& Reason::Separate() { return empty() ? *this : Add("; "); }

Reason& Reason::Add(const char* text) {
  if (size_ == 0 || text == nullptr) return *this;
  while (*text != '\0' && len_ + 1 < size_) buf_[len_++] = *text++;
  buf_[len_] = '\0';
  return *this;
}

Reason& Reason::AddHex(uint64_t value) {
  char digits[19] = "0x";
  int shift = 60;
  while (shift > 0 && ((value >> shift) & 0xf) == 0) shift -= 4;
  int n = 2;
  for (; shift >= 0; shift -= 4) digits[n] = "0123456789abcdef"[(value >> shift) & 0xf], ++n;
  digits[n] = '\0';
  return Add(digits);
}

Reason& Reason::AddDec(uint64_t value) {
  char digits[21];
  int n = sizeof(digits) - 1;
  digits[n] = '\0';
  do {
    digits[--n] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  return Add(digits + n);
}

size_t CopyString(char* dst, size_t size, const char* src) {
  if (size == 0) return 0;
  size_t n = 0;
  if (src != nullptr) {
    while (src[n] != '\0' && n + 1 < size) {
      dst[n] = src[n];
      ++n;
    }
  }
  dst[n] = '\0';
  return n;
}

bool StringsEqual(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

}  // namespace pvops::core
