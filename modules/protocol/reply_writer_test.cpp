#include "modules/protocol/reply_writer.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace stairkv::protocol {
namespace {

// Each test writes with a fresh buffer per protocol version and compares bytes.
class ReplyWriter : public ::testing::Test {
 protected:
  std::string resp2_out;
  std::string resp3_out;
  reply_writer resp2{resp2_out, 2};
  reply_writer resp3{resp3_out, 3};
};

TEST_F(ReplyWriter, DefaultsToResp2) {
  std::string out;
  reply_writer writer(out);
  EXPECT_EQ(writer.resp_version(), 2);
  writer.null();
  EXPECT_EQ(out, "$-1\r\n");
}

TEST_F(ReplyWriter, WritesOk) {
  resp2.ok();
  resp3.ok();
  EXPECT_EQ(resp2_out, "+OK\r\n");
  EXPECT_EQ(resp3_out, "+OK\r\n");
}

TEST_F(ReplyWriter, WritesSimpleStrings) {
  resp2.simple("PONG");
  resp2.simple("");
  EXPECT_EQ(resp2_out, "+PONG\r\n+\r\n");
}

TEST_F(ReplyWriter, WritesErrorsWithTheirCode) {
  resp3.error("ERR unknown command 'FOO'");
  EXPECT_EQ(resp3_out, "-ERR unknown command 'FOO'\r\n");
}

TEST_F(ReplyWriter, ReplacesLineBreaksInSimpleStringsAndErrorsWithSpaces) {
  resp2.error("ERR bad\r\nthing\n");
  resp2.simple("a\rb");
  EXPECT_EQ(resp2_out, "-ERR bad  thing \r\n+a b\r\n");
}

TEST_F(ReplyWriter, WritesIntegers) {
  resp2.integer(0);
  resp2.integer(-1);
  resp2.integer(INT64_MAX);
  resp2.integer(INT64_MIN);
  EXPECT_EQ(resp2_out, ":0\r\n:-1\r\n:9223372036854775807\r\n:-9223372036854775808\r\n");
}

TEST_F(ReplyWriter, WritesBinarySafeBulkStrings) {
  resp2.bulk(std::string("a\0\r\nb", 5));
  resp2.bulk("");
  EXPECT_EQ(resp2_out, std::string("$5\r\na\0\r\nb\r\n$0\r\n\r\n", 17));
}

TEST_F(ReplyWriter, WritesIntegersAsBulkStrings) {
  resp2.bulk_integer(-42);
  EXPECT_EQ(resp2_out, "$3\r\n-42\r\n");
}

TEST_F(ReplyWriter, WritesNullAsNullBulkInResp2AndUnderscoreInResp3) {
  resp2.null();
  resp3.null();
  EXPECT_EQ(resp2_out, "$-1\r\n");
  EXPECT_EQ(resp3_out, "_\r\n");
}

TEST_F(ReplyWriter, WritesNullArrayAsStarMinusOneInResp2AndUnderscoreInResp3) {
  resp2.null_array();
  resp3.null_array();
  EXPECT_EQ(resp2_out, "*-1\r\n");
  EXPECT_EQ(resp3_out, "_\r\n");
}

TEST_F(ReplyWriter, WritesArrayHeaders) {
  for (reply_writer* writer : {&resp2, &resp3}) {
    writer->array(2);
    writer->bulk("a");
    writer->integer(1);
    writer->array(0);
  }
  EXPECT_EQ(resp2_out, "*2\r\n$1\r\na\r\n:1\r\n*0\r\n");
  EXPECT_EQ(resp3_out, resp2_out);
}

TEST_F(ReplyWriter, WritesMapsAsFlatArraysInResp2) {
  resp2.map(2);
  resp3.map(2);
  EXPECT_EQ(resp2_out, "*4\r\n");
  EXPECT_EQ(resp3_out, "%2\r\n");
}

TEST_F(ReplyWriter, WritesSetsAsArraysInResp2) {
  resp2.set(3);
  resp3.set(3);
  EXPECT_EQ(resp2_out, "*3\r\n");
  EXPECT_EQ(resp3_out, "~3\r\n");
}

TEST_F(ReplyWriter, WritesPushMessagesAsArraysInResp2) {
  resp2.push(3);
  resp3.push(3);
  EXPECT_EQ(resp2_out, "*3\r\n");
  EXPECT_EQ(resp3_out, ">3\r\n");
}

TEST_F(ReplyWriter, WritesBooleansAsIntegersInResp2) {
  resp2.boolean(true);
  resp2.boolean(false);
  resp3.boolean(true);
  resp3.boolean(false);
  EXPECT_EQ(resp2_out, ":1\r\n:0\r\n");
  EXPECT_EQ(resp3_out, "#t\r\n#f\r\n");
}

TEST_F(ReplyWriter, WritesDoublesAsBulkStringsInResp2) {
  resp2.double_value(1.5);
  resp2.double_value(0.1);
  resp3.double_value(1.5);
  resp3.double_value(0.1);
  EXPECT_EQ(resp2_out, "$3\r\n1.5\r\n$19\r\n0.10000000000000001\r\n");
  EXPECT_EQ(resp3_out, ",1.5\r\n,0.10000000000000001\r\n");
}

TEST_F(ReplyWriter, WritesInfiniteAndNanDoublesSpelledOut) {
  resp3.double_value(std::numeric_limits<double>::infinity());
  resp3.double_value(-std::numeric_limits<double>::infinity());
  resp3.double_value(std::numeric_limits<double>::quiet_NaN());
  resp2.double_value(-std::numeric_limits<double>::infinity());
  EXPECT_EQ(resp3_out, ",inf\r\n,-inf\r\n,nan\r\n");
  EXPECT_EQ(resp2_out, "$4\r\n-inf\r\n");
}

TEST_F(ReplyWriter, WritesVerbatimStringsAsPlainBulksInResp2) {
  resp2.verbatim("Some string");
  resp3.verbatim("Some string");
  resp3.verbatim("# Title", "mkd");
  EXPECT_EQ(resp2_out, "$11\r\nSome string\r\n");
  EXPECT_EQ(resp3_out, "=15\r\ntxt:Some string\r\n=11\r\nmkd:# Title\r\n");
}

TEST_F(ReplyWriter, AppendsToWhatTheBufferAlreadyHolds) {
  std::string out = "+earlier\r\n";
  reply_writer writer(out, 3);
  writer.integer(7);
  EXPECT_EQ(out, "+earlier\r\n:7\r\n");
}

}  // namespace
}  // namespace stairkv::protocol
