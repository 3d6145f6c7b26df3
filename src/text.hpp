// text.hpp - printf-style formatting into a std::string, for log lines and messages.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace humpty {

template <typename... Args>
std::string format_text(const char* pattern, Args... args) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

}  // namespace humpty

namespace humpty {

// Text from an input file (a dictionary key, a ZIP entry name, a CSV field), quoted for a
// message: in single quotes, control bytes and quotes escaped (\n, \x1b, ...), bytes that are
// not UTF-8 escaped, cut at 80 bytes. An error message must stay one printable line whatever
// the input holds.
inline std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 80;
  std::string out = "'";
  std::size_t i = 0;
  for (; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    char escaped[8];
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f || c >= 0x80) {
      // Bytes >= 0x80 too: a lone one may be a C1 control (0x9b starts a terminal sequence).
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += char(c);
    }
  }
  out += '\'';
  if (i < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace humpty
