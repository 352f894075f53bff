#include "modules/protocol/number.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace stairkv::protocol {

namespace {

// "00" "01" ... "99": formatting two digits per division halves the divisions.
constexpr char digit_pairs[] =
    "00010203040506070809"
    "10111213141516171819"
    "20212223242526272829"
    "30313233343536373839"
    "40414243444546474849"
    "50515253545556575859"
    "60616263646566676869"
    "70717273747576777879"
    "80818283848586878889"
    "90919293949596979899";

// Redis's MAX_LONG_DOUBLE_CHARS: longer input is refused before strtold sees it.
constexpr std::size_t max_long_double_chars = 5 * 1024;

std::size_t format_uint64(std::uint64_t value, char* out) {
  char digits[20];
  char* first = digits + sizeof digits;
  while (value >= 100) {
    const auto pair = static_cast<std::size_t>(value % 100) * 2;
    value /= 100;
    first -= 2;
    std::memcpy(first, digit_pairs + pair, 2);
  }
  if (value >= 10) {
    first -= 2;
    std::memcpy(first, digit_pairs + value * 2, 2);
  } else {
    *--first = static_cast<char>('0' + value);
  }
  const auto length = static_cast<std::size_t>(digits + sizeof digits - first);
  std::memcpy(out, first, length);
  return length;
}

}  // namespace

bool parse_int64(std::string_view text, std::int64_t& value) {
  // 20 characters hold INT64_MIN; anything longer cannot be a valid int64 and is cut off
  // before the loop (this is also what keeps the overflow checks below simple).
  if (text.empty() || text.size() > 20) return false;
  if (text.size() == 1 && text[0] == '0') {
    value = 0;
    return true;
  }
  std::size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  if (i == text.size() || text[i] < '1' || text[i] > '9') return false;
  std::uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (magnitude > (UINT64_MAX - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  constexpr auto max_positive = static_cast<std::uint64_t>(INT64_MAX);
  if (negative) {
    if (magnitude > max_positive + 1) return false;
    // Negate in unsigned arithmetic so INT64_MIN does not overflow on the way.
    value = static_cast<std::int64_t>(0 - magnitude);
  } else {
    if (magnitude > max_positive) return false;
    value = static_cast<std::int64_t>(magnitude);
  }
  return true;
}

std::size_t format_int64(std::int64_t value, char* buffer) {
  std::size_t length = 0;
  auto magnitude = static_cast<std::uint64_t>(value);
  if (value < 0) {
    buffer[length++] = '-';
    magnitude = 0 - magnitude;
  }
  length += format_uint64(magnitude, buffer + length);
  buffer[length] = '\0';
  return length;
}

bool parse_long_double(std::string_view text, long double& value) {
  if (text.empty() || text.size() >= max_long_double_chars) return false;
  // strtold needs a terminated string; the copy also ends the parse at the view's end.
  char buffer[max_long_double_chars];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (std::isspace(static_cast<unsigned char>(buffer[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const long double parsed = std::strtold(buffer, &end);
  // An embedded NUL stops strtold early, so "consumed everything" is checked by length.
  if (static_cast<std::size_t>(end - buffer) != text.size()) return false;
  if (errno == ERANGE && (std::isinf(parsed) || parsed == 0)) return false;
  if (errno == EINVAL || std::isnan(parsed)) return false;
  value = parsed;
  return true;
}

std::string format_long_double(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (std::isnan(value)) return "nan";
  // "%.17Lf" of the largest long double has about 4950 characters.
  char buffer[max_long_double_chars];
  const int written = std::snprintf(buffer, sizeof buffer, "%.17Lf", value);
  if (written <= 0) return {};
  auto length = static_cast<std::size_t>(written);
  if (length >= sizeof buffer) length = sizeof buffer - 1;
  if (std::memchr(buffer, '.', length) != nullptr) {
    while (buffer[length - 1] == '0') --length;
    if (buffer[length - 1] == '.') --length;
  }
  if (length == 2 && buffer[0] == '-' && buffer[1] == '0') return "0";
  return std::string(buffer, length);
}

std::size_t format_double(double value, char* buffer) {
  const char* special = nullptr;
  if (std::isinf(value)) special = value > 0 ? "inf" : "-inf";
  if (std::isnan(value)) special = "nan";
  if (special != nullptr) {
    const std::size_t length = std::strlen(special);
    std::memcpy(buffer, special, length + 1);
    return length;
  }
  // std::to_chars with a precision is specified as printf's "%.17g" in the C locale,
  // without printf's locale lookup and format-string parsing.
  const auto result = std::to_chars(buffer, buffer + double_buffer_size - 1, value,
                                    std::chars_format::general, 17);
  const auto length = static_cast<std::size_t>(result.ptr - buffer);
  buffer[length] = '\0';
  return length;
}

}  // namespace stairkv::protocol
