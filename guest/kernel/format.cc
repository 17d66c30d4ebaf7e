// SPDX-License-Identifier: MIT
#include "kernel/format.h"

#include <stdint.h>

namespace guest {
namespace {

// Appends to a fixed buffer, keeping one byte for the terminating NUL.
class Sink {
 public:
  Sink(char* out, size_t size) : out_(out), size_(size) {}
  void Put(char c) {
    if (len_ + 1 < size_) out_[len_++] = c;
  }
  void Repeat(char c, int n) {
    for (int i = 0; i < n; ++i) Put(c);
  }
  size_t Finish() {
    if (size_ > 0) out_[len_] = '\0';
    return len_;
  }

 private:
  char* out_;
  size_t size_;
  size_t len_ = 0;
};

struct Spec {
  bool left = false;
  bool zero = false;
  int width = 0;
  int precision = -1;  // for %s: the most characters to take
  int length = 0;      // 0 = int, 1 = long, 2 = long long (and size_t)
};

void PutPadded(Sink& sink, const Spec& spec, const char* text, int len, const char* prefix) {
  int prefix_len = 0;
  while (prefix[prefix_len] != '\0') ++prefix_len;
  const int pad = spec.width > len + prefix_len ? spec.width - len - prefix_len : 0;
  if (!spec.left && !spec.zero) sink.Repeat(' ', pad);
  for (int i = 0; i < prefix_len; ++i) sink.Put(prefix[i]);
  if (!spec.left && spec.zero) sink.Repeat('0', pad);
  for (int i = 0; i < len; ++i) sink.Put(text[i]);
  if (spec.left) sink.Repeat(' ', pad);
}

void PutNumber(Sink& sink, const Spec& spec, uint64_t magnitude, bool negative, unsigned base,
               bool upper, const char* prefix) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char text[24];
  int len = 0;
  char* end = text + sizeof(text);
  do {
    *--end = digits[magnitude % base];
    magnitude /= base;
    ++len;
  } while (magnitude != 0);
  PutPadded(sink, spec, end, len, negative ? "-" : prefix);
}

}  // namespace

size_t FormatV(char* out, size_t size, const char* format, va_list args) {
  Sink sink(out, size);
  for (const char* p = format; *p != '\0'; ++p) {
    if (*p != '%') {
      sink.Put(*p);
      continue;
    }
    Spec spec;
    ++p;
    for (;; ++p) {
      if (*p == '-')
        spec.left = true;
      else if (*p == '0')
        spec.zero = true;
      else
        break;
    }
    while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + (*p++ - '0');
    if (*p == '.') {
      ++p;
      spec.precision = 0;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        ++p;
      } else {
        while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
      }
    }
    while (*p == 'l' || *p == 'z') {
      spec.length += (*p == 'z') ? 2 : 1;
      ++p;
    }
    switch (*p) {
      case 'd':
      case 'i': {
        const int64_t v = spec.length == 0 ? va_arg(args, int) : va_arg(args, int64_t);
        const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        PutNumber(sink, spec, magnitude, v < 0, 10, false, "");
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        const uint64_t v = spec.length == 0 ? va_arg(args, unsigned) : va_arg(args, uint64_t);
        PutNumber(sink, spec, v, false, *p == 'u' ? 10 : 16, *p == 'X', "");
        break;
      }
      case 'p': {
        spec.zero = true;
        spec.width = 18;
        PutNumber(sink, spec, reinterpret_cast<uint64_t>(va_arg(args, void*)), false, 16, false,
                  "0x");
        break;
      }
      case 'c': {
        const char c = static_cast<char>(va_arg(args, int));
        PutPadded(sink, spec, &c, 1, "");
        break;
      }
      case 's': {
        const char* s = va_arg(args, const char*);
        if (s == nullptr) s = "(null)";
        int len = 0;
        while ((spec.precision < 0 || len < spec.precision) && s[len] != '\0') ++len;
        PutPadded(sink, spec, s, len, "");
        break;
      }
      case '%': sink.Put('%'); break;
      case '\0': return sink.Finish();  // a lone '%' at the end
      default:  // unknown conversion: show it rather than guess at the arguments
        sink.Put('%');
        sink.Put(*p);
        break;
    }
  }
  return sink.Finish();
}

size_t Format(char* out, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t n = FormatV(out, size, format, args);
  va_end(args);
  return n;
}

}  // namespace guest
