#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

// Number <-> text conversions with Redis's exact rules. Every command that reads a
// number from a client (INCRBY, EXPIRE, LRANGE, ...) and the protocol's own `*N` / `$N`
// headers go through these, so "what counts as an integer" is decided in one place.
namespace stairkv::protocol {

// Buffer size format_int64 needs: 20 characters for INT64_MIN plus a terminating NUL.
inline constexpr std::size_t int64_buffer_size = 21;

// Buffer size format_double needs ("%.17g" of any double, sign and exponent included,
// plus a terminating NUL).
inline constexpr std::size_t double_buffer_size = 32;

// Parses `text` as a signed 64-bit integer the way Redis's string2ll does: an optional
// '-', then digits, nothing else. Rejects the empty string, '+', spaces, leading zeros
// ("01"), "-0", and anything outside int64. Strictness matters because the text is
// stored back as-is: "01" and "1" must not both be "the integer 1".
// Whether a + b leaves the 64-bit range (INCRBY's and HINCRBY's overflow).
inline bool sum_overflows(std::int64_t a, std::int64_t b) noexcept {
  return (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b)
         || (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b);
}

bool parse_int64(std::string_view text, std::int64_t& value);

// Writes the decimal form of `value` into `buffer` (at least int64_buffer_size bytes),
// NUL-terminated; returns the number of characters, terminator excluded.
std::size_t format_int64(std::int64_t value, char* buffer);

// Parses `text` as a long double the way Redis's string2ld does (INCRBYFLOAT,
// HINCRBYFLOAT): the whole text must be consumed by strtold, no leading space, at most
// 5 KiB, no NaN, no overflow to infinity and no underflow to zero. Literal "inf" / "-inf"
// are accepted (the commands themselves refuse an infinite result). Uses the C
// library's strtold, so the process must keep the "C" LC_NUMERIC locale (the default).
bool parse_long_double(std::string_view text, long double& value);

// Formats `value` like Redis's ld2string in human-friendly mode, the form INCRBYFLOAT
// stores and returns: "%.17Lf" with trailing zeros (and a trailing '.') removed, "-0"
// printed as "0", infinities as "inf" / "-inf", NaN as "nan". So 10.5 + 0.1 is "10.6",
// 3.0 is "3", and 1e20 is "100000000000000000000".
std::string format_long_double(long double value);

// Writes `value` as "%.17g" would (how Redis replies a double such as a sorted-set
// score), into `buffer` of at least double_buffer_size bytes, NUL-terminated; returns
// the number of characters. Infinities are "inf" / "-inf" and NaN is "nan", whatever
// the C library would print.
std::size_t format_double(double value, char* buffer);

}  // namespace stairkv::protocol
