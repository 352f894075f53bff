#include "modules/protocol/number.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace stairkv::protocol {
namespace {

std::string formatted_int64(std::int64_t value) {
  char buffer[int64_buffer_size];
  const std::size_t length = format_int64(value, buffer);
  EXPECT_EQ(buffer[length], '\0');
  return std::string(buffer, length);
}

std::string formatted_double(double value) {
  char buffer[double_buffer_size];
  return std::string(buffer, format_double(value, buffer));
}

bool parses_as_int64(std::string_view text) {
  std::int64_t ignored = 0;
  return parse_int64(text, ignored);
}

bool parses_as_long_double(std::string_view text) {
  long double ignored = 0;
  return parse_long_double(text, ignored);
}

TEST(ParseInt64, AcceptsCanonicalDecimalIntegers) {
  std::int64_t value = -1;
  ASSERT_TRUE(parse_int64("0", value));
  EXPECT_EQ(value, 0);
  ASSERT_TRUE(parse_int64("7", value));
  EXPECT_EQ(value, 7);
  ASSERT_TRUE(parse_int64("-42", value));
  EXPECT_EQ(value, -42);
  ASSERT_TRUE(parse_int64("1234567890", value));
  EXPECT_EQ(value, 1234567890);
}

TEST(ParseInt64, AcceptsTheInt64Extremes) {
  std::int64_t value = 0;
  ASSERT_TRUE(parse_int64("9223372036854775807", value));
  EXPECT_EQ(value, INT64_MAX);
  ASSERT_TRUE(parse_int64("-9223372036854775808", value));
  EXPECT_EQ(value, INT64_MIN);
}

TEST(ParseInt64, RejectsValuesOneBeyondTheExtremes) {
  EXPECT_FALSE(parses_as_int64("9223372036854775808"));
  EXPECT_FALSE(parses_as_int64("-9223372036854775809"));
  EXPECT_FALSE(parses_as_int64("18446744073709551615"));
  EXPECT_FALSE(parses_as_int64("18446744073709551616"));
  EXPECT_FALSE(parses_as_int64("99999999999999999999"));
  EXPECT_FALSE(parses_as_int64("100000000000000000000"));
}

TEST(ParseInt64, RejectsNonCanonicalSpellings) {
  EXPECT_FALSE(parses_as_int64(""));
  EXPECT_FALSE(parses_as_int64("-"));
  EXPECT_FALSE(parses_as_int64("+1"));
  EXPECT_FALSE(parses_as_int64(" 1"));
  EXPECT_FALSE(parses_as_int64("1 "));
  EXPECT_FALSE(parses_as_int64("01"));
  EXPECT_FALSE(parses_as_int64("00"));
  EXPECT_FALSE(parses_as_int64("-0"));
  EXPECT_FALSE(parses_as_int64("-01"));
  EXPECT_FALSE(parses_as_int64("1.0"));
  EXPECT_FALSE(parses_as_int64("1e3"));
  EXPECT_FALSE(parses_as_int64("0x10"));
  EXPECT_FALSE(parses_as_int64("12a"));
  EXPECT_FALSE(parses_as_int64(std::string_view("1\0", 2)));
}

TEST(FormatInt64, WritesTheShortestDecimalForm) {
  EXPECT_EQ(formatted_int64(0), "0");
  EXPECT_EQ(formatted_int64(9), "9");
  EXPECT_EQ(formatted_int64(10), "10");
  EXPECT_EQ(formatted_int64(-1), "-1");
  EXPECT_EQ(formatted_int64(100), "100");
  EXPECT_EQ(formatted_int64(-1000000007), "-1000000007");
  EXPECT_EQ(formatted_int64(INT64_MAX), "9223372036854775807");
  EXPECT_EQ(formatted_int64(INT64_MIN), "-9223372036854775808");
}

TEST(FormatInt64, RoundTripsThroughParseInt64) {
  // Powers of ten and their neighbours exercise every digit count.
  for (std::int64_t power = 1; power <= INT64_MAX / 10; power *= 10) {
    for (const std::int64_t value : {power - 1, power, power + 1, -power, -power + 1}) {
      std::int64_t parsed = 0;
      ASSERT_TRUE(parse_int64(formatted_int64(value), parsed)) << value;
      EXPECT_EQ(parsed, value);
    }
  }
}

TEST(ParseLongDouble, AcceptsWhatStrtoldReadsCompletely) {
  long double value = 0;
  ASSERT_TRUE(parse_long_double("1.5", value));
  EXPECT_EQ(value, 1.5L);
  ASSERT_TRUE(parse_long_double("-3", value));
  EXPECT_EQ(value, -3.0L);
  ASSERT_TRUE(parse_long_double("+2.5", value));
  EXPECT_EQ(value, 2.5L);
  ASSERT_TRUE(parse_long_double("1e3", value));
  EXPECT_EQ(value, 1000.0L);
  ASSERT_TRUE(parse_long_double(".5", value));
  EXPECT_EQ(value, 0.5L);
  ASSERT_TRUE(parse_long_double("0x10", value));
  EXPECT_EQ(value, 16.0L);
}

TEST(ParseLongDouble, AcceptsInfinityButNotNan) {
  long double value = 0;
  ASSERT_TRUE(parse_long_double("inf", value));
  EXPECT_TRUE(std::isinf(value) && value > 0);
  ASSERT_TRUE(parse_long_double("-inf", value));
  EXPECT_TRUE(std::isinf(value) && value < 0);
  EXPECT_FALSE(parses_as_long_double("nan"));
  EXPECT_FALSE(parses_as_long_double("-nan"));
}

TEST(ParseLongDouble, RejectsSpacesTrailingGarbageAndEmptyInput) {
  EXPECT_FALSE(parses_as_long_double(""));
  EXPECT_FALSE(parses_as_long_double(" 1"));
  EXPECT_FALSE(parses_as_long_double("\t1"));
  EXPECT_FALSE(parses_as_long_double("1 "));
  EXPECT_FALSE(parses_as_long_double("1.5x"));
  EXPECT_FALSE(parses_as_long_double("abc"));
  EXPECT_FALSE(parses_as_long_double(std::string_view("1\0" "5", 3)));
}

TEST(ParseLongDouble, RejectsOverflowAndUnderflowToZero) {
  EXPECT_FALSE(parses_as_long_double("1e99999"));
  EXPECT_FALSE(parses_as_long_double("-1e99999"));
  EXPECT_FALSE(parses_as_long_double("1e-99999"));
}

TEST(ParseLongDouble, RejectsInputOfFiveKibibytesOrMore) {
  std::string long_number = "1." + std::string(5 * 1024, '0');
  EXPECT_FALSE(parses_as_long_double(long_number));
  long_number.resize(5 * 1024 - 1);
  EXPECT_TRUE(parses_as_long_double(long_number));
}

TEST(FormatLongDouble, PrintsLikeIncrbyfloat) {
  EXPECT_EQ(format_long_double(10.5L + 0.1L), "10.6");
  EXPECT_EQ(format_long_double(3.0L), "3");
  EXPECT_EQ(format_long_double(0.1L), "0.1");
  EXPECT_EQ(format_long_double(-2.5L), "-2.5");
  EXPECT_EQ(format_long_double(1e20L), "100000000000000000000");
  EXPECT_EQ(format_long_double(1.0L / 3), "0.33333333333333333");
  EXPECT_EQ(format_long_double(5.0e3L), "5000");
}

TEST(FormatLongDouble, PrintsNegativeZeroAsZero) {
  EXPECT_EQ(format_long_double(-0.0L), "0");
  EXPECT_EQ(format_long_double(-1e-30L), "0");
}

TEST(FormatLongDouble, SpellsOutInfinityAndNan) {
  EXPECT_EQ(format_long_double(std::numeric_limits<long double>::infinity()), "inf");
  EXPECT_EQ(format_long_double(-std::numeric_limits<long double>::infinity()), "-inf");
  EXPECT_EQ(format_long_double(std::numeric_limits<long double>::quiet_NaN()), "nan");
}

TEST(FormatLongDouble, RoundTripsThroughParseLongDouble) {
  for (const long double value : {0.0L, 1.25L, -17.0L, 123456789.125L, 1e30L}) {
    long double parsed = 0;
    ASSERT_TRUE(parse_long_double(format_long_double(value), parsed));
    EXPECT_EQ(parsed, value);
  }
}

TEST(FormatDouble, PrintsSeventeenSignificantDigits) {
  EXPECT_EQ(formatted_double(1.5), "1.5");
  EXPECT_EQ(formatted_double(0.1), "0.10000000000000001");
  EXPECT_EQ(formatted_double(-3.0), "-3");
  EXPECT_EQ(formatted_double(1e300), "1.0000000000000001e+300");
  EXPECT_EQ(formatted_double(-std::numeric_limits<double>::max()), "-1.7976931348623157e+308");
  EXPECT_EQ(formatted_double(std::numeric_limits<double>::denorm_min()), "4.9406564584124654e-324");
}

TEST(FormatDouble, SpellsOutInfinityAndNan) {
  EXPECT_EQ(formatted_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(formatted_double(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(formatted_double(std::numeric_limits<double>::quiet_NaN()), "nan");
}

}  // namespace
}  // namespace stairkv::protocol
