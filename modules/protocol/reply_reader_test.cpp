#include "modules/protocol/reply_reader.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "modules/protocol/reply_writer.hpp"

namespace stairkv::protocol {
namespace {

using kind = reply::kind;

reply read_whole(std::string_view input) {
  reply out;
  const read_result result = read_reply(input, out);
  EXPECT_EQ(result.status, read_status::complete) << result.error;
  EXPECT_EQ(result.consumed, input.size());
  return out;
}

std::string error_of(std::string_view input) {
  reply out;
  const read_result result = read_reply(input, out);
  if (result.status == read_status::complete) return "(complete)";
  if (result.status == read_status::incomplete) return "(incomplete)";
  return result.error;
}

// Writes a RESP3 reply covering every type, nested.
std::string every_type(int resp_version) {
  std::string out;
  reply_writer writer(out, resp_version);
  writer.array(12);
  writer.ok();
  writer.error("ERR oops");
  writer.integer(-12);
  writer.bulk(std::string("bi\0n\r\n", 6));
  writer.null();
  writer.map(1);
  writer.bulk("field");
  writer.double_value(2.5);
  writer.set(2);
  writer.integer(1);
  writer.integer(2);
  writer.push(1);
  writer.simple("message");
  writer.boolean(true);
  writer.verbatim("info");
  writer.null_array();
  writer.array(0);
  return out;
}

TEST(ReadReply, DecodesScalars) {
  EXPECT_EQ(read_whole("+OK\r\n").text, "OK");
  EXPECT_EQ(read_whole("+OK\r\n").type, kind::simple);
  EXPECT_EQ(read_whole("-ERR x\r\n").type, kind::error);
  EXPECT_EQ(read_whole("-ERR x\r\n").text, "ERR x");
  EXPECT_EQ(read_whole(":-9223372036854775808\r\n").integer, INT64_MIN);
  EXPECT_EQ(read_whole("$3\r\nabc\r\n").text, "abc");
  EXPECT_EQ(read_whole("$0\r\n\r\n").type, kind::bulk);
  EXPECT_EQ(read_whole("$-1\r\n").type, kind::null);
  EXPECT_EQ(read_whole("*-1\r\n").type, kind::null);
  EXPECT_EQ(read_whole("_\r\n").type, kind::null);
  EXPECT_EQ(read_whole("#f\r\n").integer, 0);
  EXPECT_EQ(read_whole("#t\r\n").type, kind::boolean);
  EXPECT_EQ(read_whole(",-1.25\r\n").number, -1.25);
  EXPECT_EQ(read_whole(",-1.25\r\n").text, "-1.25");
  EXPECT_TRUE(std::isinf(read_whole(",inf\r\n").number));
  EXPECT_TRUE(std::isnan(read_whole(",nan\r\n").number));
  EXPECT_EQ(read_whole("(-3492890328409238509324850943850943825024385\r\n").text,
            "-3492890328409238509324850943850943825024385");
  EXPECT_EQ(read_whole("!10\r\nERR failed\r\n").type, kind::error);
  EXPECT_EQ(read_whole("!10\r\nERR failed\r\n").text, "ERR failed");
}

TEST(ReadReply, DecodesVerbatimStringsIntoFormatAndText) {
  const reply r = read_whole("=15\r\ntxt:Some string\r\n");
  EXPECT_EQ(r.type, kind::verbatim);
  EXPECT_EQ(r.format, "txt");
  EXPECT_EQ(r.text, "Some string");
}

TEST(ReadReply, RoundTripsEveryResp3TypeTheWriterProduces) {
  const reply r = read_whole(every_type(3));
  ASSERT_EQ(r.type, kind::array);
  ASSERT_EQ(r.elements.size(), 12u);
  EXPECT_EQ(r.elements[0].text, "OK");
  EXPECT_EQ(r.elements[1].type, kind::error);
  EXPECT_EQ(r.elements[1].text, "ERR oops");
  EXPECT_EQ(r.elements[2].integer, -12);
  EXPECT_EQ(r.elements[3].text, std::string("bi\0n\r\n", 6));
  EXPECT_EQ(r.elements[4].type, kind::null);
  ASSERT_EQ(r.elements[5].type, kind::map);
  ASSERT_EQ(r.elements[5].elements.size(), 2u);
  EXPECT_EQ(r.elements[5].elements[0].text, "field");
  EXPECT_EQ(r.elements[5].elements[1].type, kind::double_value);
  EXPECT_EQ(r.elements[5].elements[1].number, 2.5);
  ASSERT_EQ(r.elements[6].type, kind::set);
  EXPECT_EQ(r.elements[6].elements[1].integer, 2);
  ASSERT_EQ(r.elements[7].type, kind::push);
  EXPECT_EQ(r.elements[7].elements[0].text, "message");
  EXPECT_EQ(r.elements[8].type, kind::boolean);
  EXPECT_EQ(r.elements[8].integer, 1);
  EXPECT_EQ(r.elements[9].type, kind::verbatim);
  EXPECT_EQ(r.elements[9].text, "info");
  EXPECT_EQ(r.elements[10].type, kind::null);
  EXPECT_EQ(r.elements[11].type, kind::array);
  EXPECT_TRUE(r.elements[11].elements.empty());
}

TEST(ReadReply, RoundTripsTheResp2FormOfEveryType) {
  const reply r = read_whole(every_type(2));
  ASSERT_EQ(r.elements.size(), 12u);
  EXPECT_EQ(r.elements[4].type, kind::null);
  ASSERT_EQ(r.elements[5].type, kind::array);  // a map is a flat array in RESP2
  EXPECT_EQ(r.elements[5].elements[1].type, kind::bulk);
  EXPECT_EQ(r.elements[5].elements[1].text, "2.5");
  EXPECT_EQ(r.elements[6].type, kind::array);
  EXPECT_EQ(r.elements[7].type, kind::array);
  EXPECT_EQ(r.elements[8].type, kind::integer);
  EXPECT_EQ(r.elements[9].type, kind::bulk);
  EXPECT_EQ(r.elements[10].type, kind::null);
}

TEST(ReadReply, ReportsEveryProperPrefixOfAReplyAsIncomplete) {
  for (const int version : {2, 3}) {
    const std::string input = every_type(version);
    for (std::size_t length = 0; length < input.size(); ++length) {
      EXPECT_EQ(error_of(std::string_view(input).substr(0, length)), "(incomplete)")
          << "version " << version << ", first " << length << " bytes";
    }
  }
}

TEST(ReadReply, ConsumesOnlyTheFirstOfSeveralPipelinedReplies) {
  reply out;
  const read_result result = read_reply("*2\r\n:1\r\n:2\r\n+NEXT\r\n", out);
  EXPECT_EQ(result.status, read_status::complete);
  EXPECT_EQ(result.consumed, std::string_view("*2\r\n:1\r\n:2\r\n").size());
}

TEST(ReadReply, SkipsAttributesAndReturnsTheValueTheyAnnotate) {
  const reply top = read_whole("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n:7\r\n");
  EXPECT_EQ(top.type, kind::integer);
  EXPECT_EQ(top.integer, 7);
  const reply nested = read_whole("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n|0\r\n:2\r\n");
  ASSERT_EQ(nested.elements.size(), 2u);
  EXPECT_EQ(nested.elements[0].integer, 1);
  EXPECT_EQ(nested.elements[1].integer, 2);
}

TEST(ReadReply, RejectsMalformedInput) {
  EXPECT_EQ(error_of("?what\r\n"), "unknown reply type byte");
  EXPECT_EQ(error_of(":12a\r\n"), "invalid integer");
  EXPECT_EQ(error_of(":+1\r\n"), "invalid integer");
  EXPECT_EQ(error_of("$-2\r\n"), "invalid bulk length");
  EXPECT_EQ(error_of("$x\r\n"), "invalid bulk length");
  EXPECT_EQ(error_of("!-1\r\n"), "invalid bulk length");
  EXPECT_EQ(error_of("$3\r\nabcd\r\n"), "missing CRLF after bulk payload");
  EXPECT_EQ(error_of("*-2\r\n"), "invalid aggregate length");
  EXPECT_EQ(error_of("%-1\r\n"), "invalid aggregate length");
  EXPECT_EQ(error_of("*?\r\n"), "invalid aggregate length");
  EXPECT_EQ(error_of("#x\r\n"), "invalid boolean");
  EXPECT_EQ(error_of(",1.5.5\r\n"), "invalid double");
  EXPECT_EQ(error_of("(12x\r\n"), "invalid big number");
  EXPECT_EQ(error_of("=3\r\ntxt\r\n"), "invalid verbatim string");
  EXPECT_EQ(error_of("_x\r\n"), "invalid null");
  EXPECT_EQ(error_of("+OK\rX"), "missing LF after CR");
}

TEST(ReadReply, RejectsNestingBeyondTheDepthLimit) {
  std::string deep;
  for (std::size_t i = 0; i < max_reply_depth + 1; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  EXPECT_EQ(error_of(deep), "reply nested too deep");
  EXPECT_EQ(error_of(std::string_view(deep).substr(4)), "(complete)");
}

TEST(ReplyReader, ResumesAReplyArrivingByteByByte) {
  const std::string input = every_type(3) + ":5\r\n";
  reply_reader reader;
  std::string buffer;
  std::vector<reply> replies;
  for (const char byte : input) {
    buffer.push_back(byte);
    const read_status status = reader.read(buffer);
    ASSERT_NE(status, read_status::malformed) << reader.error();
    if (status == read_status::complete) {
      replies.push_back(std::move(reader.value()));
      buffer.erase(0, reader.consumed());
    }
  }
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].elements.size(), 12u);
  EXPECT_EQ(replies[0].elements[3].text, std::string("bi\0n\r\n", 6));
  EXPECT_EQ(replies[1].integer, 5);
  EXPECT_TRUE(buffer.empty());
}

TEST(ReplyReader, DoesNotReserveElementsForAHugeDeclaredCount) {
  // Reserving 2^62 elements up front would throw (it exceeds any vector's max_size).
  for (const std::string count : {"1000000000", "4611686018427387904"}) {
    reply_reader reader;
    std::string buffer = "*" + count + "\r\n";
    for (int i = 0; i < 3; ++i) buffer += ":1\r\n";
    EXPECT_EQ(reader.read(buffer), read_status::incomplete);
  }
}

TEST(ReplyReader, MalformedInputIsStickyUntilReset) {
  reply_reader reader;
  EXPECT_EQ(reader.read("?\r\n"), read_status::malformed);
  EXPECT_EQ(reader.read(":1\r\n"), read_status::malformed);
  reader.reset();
  EXPECT_EQ(reader.read(":1\r\n"), read_status::complete);
  EXPECT_EQ(reader.value().integer, 1);
}

}  // namespace
}  // namespace stairkv::protocol
