#include "benchmarks/workload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "modules/protocol/request_parser.hpp"

namespace stairkv::bench {
namespace {

// Every command in `bytes`, each as its argument list; fails the test on anything
// that is not a sequence of whole valid requests.
std::vector<std::vector<std::string>> parse_requests(const std::string& bytes) {
  std::vector<std::vector<std::string>> commands;
  protocol::request_parser parser;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const auto status = parser.parse(std::string_view(bytes).substr(offset));
    if (status != protocol::request_parser::status::command) {
      ADD_FAILURE() << "not a whole request at offset " << offset << ": " << parser.error();
      break;
    }
    commands.emplace_back(parser.args().begin(), parser.args().end());
    offset += parser.consumed();
  }
  return commands;
}

TEST(KeyFormat, IsKeyColonAndTwelveZeroPaddedDigits) {
  EXPECT_EQ(key_name(0), "key:000000000000");
  EXPECT_EQ(key_name(42), "key:000000000042");
  EXPECT_EQ(key_name(999'999), "key:000000999999");
  EXPECT_EQ(key_name(max_keys - 1), "key:999999999999");
  EXPECT_EQ(key_name(12345).size(), key_size);
}

TEST(RandomGenerator, SameSeedSameSequenceOtherSeedOtherSequence) {
  random_generator a(1), b(1), c(2);
  int differences = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    if (x != c.next()) ++differences;
  }
  EXPECT_GT(differences, 990);
}

TEST(RandomGenerator, ClientSeedsDiffer) {
  EXPECT_NE(client_seed(1, 0), client_seed(1, 1));
  EXPECT_NE(client_seed(1, 0), client_seed(2, 0));
  EXPECT_EQ(client_seed(7, 3), client_seed(7, 3));
}

TEST(RequestGenerator, KeysStayInRangeAndCoverItUniformly) {
  constexpr std::uint64_t keys = 100;
  constexpr int draws = 200'000;
  request_generator gen(99, keys, {1, 1});
  std::vector<int> hits(keys, 0);
  for (int i = 0; i < draws; ++i) {
    const auto r = gen.next();
    ASSERT_LT(r.key, keys);
    ++hits[r.key];
  }
  // Each key expects 2,000 hits with a standard deviation of about 44; a chi-square
  // test over 99 degrees of freedom stays below 160 except with tiny probability.
  double chi_square = 0;
  const double expected = static_cast<double>(draws) / keys;
  for (int h : hits) chi_square += (h - expected) * (h - expected) / expected;
  EXPECT_LT(chi_square, 160.0);
}

TEST(RequestGenerator, SingleKeyAndHugeRangesWork) {
  request_generator one(5, 1, {1, 1});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(one.next().key, 0u);
  request_generator huge(5, max_keys, {1, 1});
  std::uint64_t largest = 0;
  for (int i = 0; i < 1000; ++i) largest = std::max(largest, huge.next().key);
  EXPECT_LT(largest, max_keys);
  EXPECT_GT(largest, max_keys / 2);
}

TEST(RequestGenerator, IsDeterministicForASeed) {
  request_generator a(1234, 1'000'000, {1, 3}), b(1234, 1'000'000, {1, 3});
  request_generator other(1235, 1'000'000, {1, 3});
  int same_as_other = 0;
  for (int i = 0; i < 10'000; ++i) {
    const auto x = a.next();
    const auto y = b.next();
    ASSERT_EQ(x.key, y.key);
    ASSERT_EQ(x.cmd, y.cmd);
    if (x.key == other.next().key) ++same_as_other;
  }
  EXPECT_LT(same_as_other, 10);
}

TEST(RequestGenerator, HonoursTheSetGetRatio) {
  const struct {
    command_ratio ratio;
    double set_share;
  } cases[] = {
      {{1, 1}, 0.5}, {{1, 10}, 1.0 / 11}, {{3, 1}, 0.75}, {{1, 0}, 1.0}, {{0, 1}, 0.0}};
  constexpr int draws = 200'000;
  for (const auto& c : cases) {
    request_generator gen(17, 1000, c.ratio);
    int sets = 0;
    for (int i = 0; i < draws; ++i) sets += gen.next().cmd == command::set;
    const double share = static_cast<double>(sets) / draws;
    // Five standard deviations of a binomial share at this many draws.
    const double tolerance = 5 * std::sqrt(c.set_share * (1 - c.set_share) / draws);
    EXPECT_NEAR(share, c.set_share, tolerance + 1e-12) << format_ratio(c.ratio);
  }
}

TEST(Ratio, ParsesSetColonGet) {
  command_ratio r;
  ASSERT_TRUE(parse_ratio("1:10", r));
  EXPECT_EQ(r.set, 1u);
  EXPECT_EQ(r.get, 10u);
  ASSERT_TRUE(parse_ratio("0:1", r));
  EXPECT_EQ(r.set, 0u);
  EXPECT_EQ(format_ratio({3, 7}), "3:7");
  for (const char* bad :
       {"", "1", "1:", ":1", "0:0", "a:b", "-1:1", "1:1:1", "1 :1", "2000000:1"}) {
    EXPECT_FALSE(parse_ratio(bad, r)) << bad;
  }
}

TEST(Value, IsDeterministicAndOfTheAskedSize) {
  EXPECT_EQ(make_value(0), "");
  EXPECT_EQ(make_value(3), "abc");
  EXPECT_EQ(make_value(100).size(), 100u);
  EXPECT_EQ(make_value(100), make_value(100));
}

TEST(RequestEncoder, WritesValidSetAndGetRequests) {
  request_encoder encoder(16);
  std::string out;
  encoder.append(out, command::set, 7);
  encoder.append(out, command::get, 123'456'789'012);
  encoder.append(out, command::get, 0);
  const auto commands = parse_requests(out);
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0],
            (std::vector<std::string>{"SET", "key:000000000007", make_value(16)}));
  EXPECT_EQ(commands[1], (std::vector<std::string>{"GET", "key:123456789012"}));
  EXPECT_EQ(commands[2], (std::vector<std::string>{"GET", "key:000000000000"}));
  EXPECT_EQ(out.size(), 2 * encoder.size(command::get) + encoder.size(command::set));
}

TEST(RequestEncoder, HandlesEmptyAndLargeValues) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100'000}}) {
    request_encoder encoder(size);
    std::string out;
    encoder.append(out, command::set, 99);
    const auto commands = parse_requests(out);
    ASSERT_EQ(commands.size(), 1u);
    EXPECT_EQ(commands[0][1], "key:000000000099");
    EXPECT_EQ(commands[0][2], make_value(size));
  }
}

TEST(RequestEncoder, AppendingDoesNotReallocateOnceTheBufferHasGrown) {
  request_encoder encoder(16);
  std::string out;
  out.reserve(64 * encoder.size(command::set));
  const char* storage = out.data();
  for (int round = 0; round < 100; ++round) {
    out.clear();
    for (int i = 0; i < 64; ++i) encoder.append(out, command::set, i);
  }
  EXPECT_EQ(out.data(), storage);
}

TEST(SetPxat, EncodesTheAbsoluteDeadline) {
  std::string out;
  append_set_pxat(out, "exp:1", "v", 1'764'000'000'123);
  const auto commands = parse_requests(out);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0],
            (std::vector<std::string>{"SET", "exp:1", "v", "PXAT", "1764000000123"}));
}

}  // namespace
}  // namespace stairkv::bench
