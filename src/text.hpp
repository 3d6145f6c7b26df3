// text.hpp - printf-style formatting into a std::string, for log lines and messages.
#pragma once

#include <cstdio>
#include <string>

namespace humpty {

template <typename... Args>
std::string format_text(const char* pattern, Args... args) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

}  // namespace humpty
