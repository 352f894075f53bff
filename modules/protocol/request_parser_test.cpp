#include "modules/protocol/request_parser.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "modules/protocol/limits.hpp"

namespace stairkv::protocol {
namespace {

using command = std::vector<std::string>;
using status = request_parser::status;

// What a connection would see: the commands parsed, in order, and how the input ended.
struct outcome {
  std::vector<command> commands;
  std::string error;      // empty unless the parser reported an error
  std::size_t unparsed;   // bytes left in the buffer at the end (0 after an error)

  bool operator==(const outcome& other) const {
    return commands == other.commands && error == other.error && unparsed == other.unparsed;
  }
};

std::ostream& operator<<(std::ostream& out, const outcome& o) {
  out << o.commands.size() << " commands [";
  for (const command& c : o.commands) {
    out << " (";
    for (const std::string& arg : c) out << '"' << arg << "\" ";
    out << ")";
  }
  return out << " ] error=\"" << o.error << "\" unparsed=" << o.unparsed;
}

// Feeds `input` to a parser in pieces ending at each of `cuts` (then the rest), as a
// connection does: append what arrived, parse until the parser needs more, drop what
// it consumed.
outcome feed(std::string_view input, const std::vector<std::size_t>& cuts) {
  request_parser parser;
  outcome result;
  std::string buffer;
  std::size_t fed = 0;
  auto pieces = cuts;
  pieces.push_back(input.size());
  for (const std::size_t cut : pieces) {
    buffer.append(input.substr(fed, cut - fed));
    fed = cut;
    for (;;) {
      const status s = parser.parse(buffer.data(), buffer.size());
      if (s == status::error) {
        // How much of the input had arrived by then depends on the split; ignore it.
        result.error = std::string(parser.error());
        result.unparsed = 0;
        return result;
      }
      if (s == status::command) {
        result.commands.emplace_back(parser.args().begin(), parser.args().end());
      }
      buffer.erase(0, parser.consumed());
      if (s == status::need_more) break;
    }
  }
  result.unparsed = buffer.size();
  return result;
}

outcome feed_whole(std::string_view input) { return feed(input, {}); }

outcome feed_byte_by_byte(std::string_view input) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return feed(input, cuts);
}

// Checks that every way of cutting `input` into one or two pieces, and feeding it one
// byte at a time, gives the same outcome as feeding it whole.
void expect_split_invariant(std::string_view input) {
  const outcome whole = feed_whole(input);
  EXPECT_EQ(feed_byte_by_byte(input), whole) << "fed byte by byte";
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    ASSERT_EQ(feed(input, {cut}), whole) << "split at " << cut;
  }
}

std::string error_of(std::string_view input) {
  request_parser parser;
  std::string buffer(input);
  for (;;) {
    const status s = parser.parse(buffer.data(), buffer.size());
    if (s == status::error) return std::string(parser.error());
    if (s == status::need_more) return "(need more)";
    buffer.erase(0, parser.consumed());
  }
}

std::string multibulk(const command& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  return out;
}

// --- Well-formed input -------------------------------------------------------------

TEST(RequestParser, ParsesAMultibulkCommand) {
  request_parser parser;
  const std::string input = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
  ASSERT_EQ(parser.parse(input.data(), input.size()), status::command);
  EXPECT_EQ(command(parser.args().begin(), parser.args().end()),
            (command{"SET", "key", "value"}));
  EXPECT_EQ(parser.consumed(), input.size());
}

TEST(RequestParser, MultibulkArgumentsPointIntoTheInputWithoutCopying) {
  request_parser parser;
  const std::string input = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  ASSERT_EQ(parser.parse(input), status::command);
  EXPECT_EQ(parser.args()[0].data(), input.data() + 8);
  EXPECT_EQ(parser.args()[1].data(), input.data() + 17);
}

TEST(RequestParser, ReportsNeedMoreUntilTheCommandIsComplete) {
  request_parser parser;
  std::string buffer = "*2\r\n$3\r\nGET\r\n$1\r";
  EXPECT_EQ(parser.parse(buffer), status::need_more);
  EXPECT_EQ(parser.consumed(), 0u);
  buffer += "\nk\r";
  EXPECT_EQ(parser.parse(buffer), status::need_more);
  buffer += "\n";
  ASSERT_EQ(parser.parse(buffer), status::command);
  EXPECT_EQ(command(parser.args().begin(), parser.args().end()), (command{"GET", "k"}));
}

TEST(RequestParser, ParsesEveryCommandOfAPipeline) {
  std::string input;
  std::vector<command> expected;
  for (int i = 0; i < 200; ++i) {
    command c{"SET", "key:" + std::to_string(i), std::string(i % 7, 'v')};
    expected.push_back(c);
    input += multibulk(c);
    if (i % 3 == 0) {
      input += "PING " + std::to_string(i) + "\r\n";
      expected.push_back({"PING", std::to_string(i)});
    }
  }
  const outcome result = feed_whole(input);
  EXPECT_EQ(result.commands, expected);
  EXPECT_EQ(result.unparsed, 0u);
  EXPECT_EQ(feed_byte_by_byte(input), result);
}

TEST(RequestParser, BulkArgumentsAreBinarySafe) {
  const std::string payload("a\0b\r\nc\n\rd\r\n", 11);
  const outcome result = feed_whole(multibulk({"SET", "k", payload}));
  ASSERT_EQ(result.commands.size(), 1u);
  EXPECT_EQ(result.commands[0][2], payload);
}

TEST(RequestParser, AcceptsEmptyBulkArguments) {
  EXPECT_EQ(feed_whole("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n").commands,
            (std::vector<command>{{"ECHO", ""}}));
}

TEST(RequestParser, SkipsZeroAndNegativeMultibulkCounts) {
  const outcome result = feed_whole("*0\r\n*-1\r\n*-7\r\n*1\r\n$4\r\nPING\r\n*0\r\n");
  EXPECT_EQ(result.commands, (std::vector<command>{{"PING"}}));
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.unparsed, 0u);
}

TEST(RequestParser, ConsumedCountsSkippedEmptyCommandsEvenWhenMoreIsNeeded) {
  request_parser parser;
  const std::string input = "*0\r\n\r\n\n*1\r\n$4\r\nPI";
  EXPECT_EQ(parser.parse(input), status::need_more);
  EXPECT_EQ(parser.consumed(), 7u);
}

TEST(RequestParser, ParsesInlineCommandsEndedByCrlfOrLf) {
  EXPECT_EQ(feed_whole("SET a b\r\nGET a\n").commands,
            (std::vector<command>{{"SET", "a", "b"}, {"GET", "a"}}));
}

TEST(RequestParser, InlineWordsAreSeparatedByAnyRunOfSpaces) {
  EXPECT_EQ(feed_whole("  SET \t a\t\tb   \r\n").commands,
            (std::vector<command>{{"SET", "a", "b"}}));
}

TEST(RequestParser, SkipsEmptyAndBlankInlineLines) {
  const outcome result = feed_whole("\r\n\n   \r\n\t\nPING\r\n\n");
  EXPECT_EQ(result.commands, (std::vector<command>{{"PING"}}));
  EXPECT_EQ(result.unparsed, 0u);
}

TEST(RequestParser, InlineDoubleQuotesUnderstandEscapes) {
  EXPECT_EQ(feed_whole("SET k \"a b\\n\\r\\t\\b\\a\\\\\\\"\\x41\\x7a\"\r\n").commands,
            (std::vector<command>{{"SET", "k", "a b\n\r\t\b\a\\\"Az"}}));
}

TEST(RequestParser, InlineHexEscapeNeedsTwoHexDigits) {
  // "\xZ1" is not a hex escape: the backslash quotes the 'x' like any other character.
  EXPECT_EQ(feed_whole("ECHO \"\\xZ1\" \"\\x4\"\r\n").commands,
            (std::vector<command>{{"ECHO", "xZ1", "x4"}}));
}

TEST(RequestParser, InlineHexEscapeCanProduceNulAndHighBytes) {
  EXPECT_EQ(feed_whole("ECHO \"\\x00\\xff\"\r\n").commands,
            (std::vector<command>{{"ECHO", std::string("\0\xff", 2)}}));
}

TEST(RequestParser, InlineSingleQuotesOnlyUnderstandEscapedQuote) {
  EXPECT_EQ(feed_whole("SET k 'it\\'s a \\n \"test\"'\r\n").commands,
            (std::vector<command>{{"SET", "k", "it's a \\n \"test\""}}));
}

TEST(RequestParser, InlineQuotesMayOpenInsideAWordAndMayBeEmpty) {
  EXPECT_EQ(feed_whole("SET key\"a b\" \"\" ''\r\n").commands,
            (std::vector<command>{{"SET", "keya b", "", ""}}));
}

TEST(RequestParser, InlineVerticalTabAndFormFeedBelongToAWord) {
  EXPECT_EQ(feed_whole("ECHO a\vb\fc\r\n").commands,
            (std::vector<command>{{"ECHO", "a\vb\fc"}}));
}

TEST(RequestParser, PlainInlineWordsPointIntoTheInputWithoutCopying) {
  request_parser parser;
  const std::string input = "GET key\r\n";
  ASSERT_EQ(parser.parse(input), status::command);
  EXPECT_EQ(parser.args()[1].data(), input.data() + 4);
  EXPECT_EQ(parser.consumed(), input.size());
}

TEST(RequestParser, EveryFrameSplitAtEveryByteBoundaryYieldsTheSameCommands) {
  const std::string input =
      multibulk({"SET", "key", std::string("bin\0\r\n\r\nary", 12)}) +
      "*0\r\n*-1\r\n" +
      "\r\n\n  \n" +
      "SET \"quoted \\x41\\n\" 'single \\' quote' plain\r\n" +
      multibulk({"ECHO", ""}) +
      "PING\n" +
      multibulk({"MSET", "a", "1", "b", "22", "c", std::string(300, 'x')});
  const outcome whole = feed_whole(input);
  ASSERT_EQ(whole.error, "");
  ASSERT_EQ(whole.commands,
            (std::vector<command>{{"SET", "key", std::string("bin\0\r\n\r\nary", 12)},
                                  {"SET", "quoted A\n", "single ' quote", "plain"},
                                  {"ECHO", ""},
                                  {"PING"},
                                  {"MSET", "a", "1", "b", "22", "c", std::string(300, 'x')}}));
  expect_split_invariant(input);
}

TEST(RequestParser, EveryMalformedFrameSplitAtEveryByteBoundaryYieldsTheSameError) {
  for (const std::string input :
       {"*1\r\n$3\r\nGET\r\n*2\r\n:1\r\n", "*1\r\n$3\r\nGETXY", "*x\r\n", "*1\r\n$-5\r\n",
        "PING\r\nSET \"a\r\n"}) {
    const outcome whole = feed_whole(input);
    EXPECT_NE(whole.error, "") << input;
    expect_split_invariant(input);
  }
}

TEST(RequestParser, AnArgumentArrivingInSmallPiecesIsNotRescanned) {
  // The first byte after a complete header tells the parser what it is waiting for.
  request_parser parser;
  std::string buffer = "*1\r\n$1000\r\n";
  EXPECT_EQ(parser.parse(buffer), status::need_more);
  const std::uint64_t after_header = parser.bytes_examined();
  for (int i = 0; i < 1000; ++i) {
    buffer.push_back('x');
    EXPECT_EQ(parser.parse(buffer), status::need_more);
  }
  EXPECT_EQ(parser.bytes_examined(), after_header);
  buffer += "\r\n";
  EXPECT_EQ(parser.parse(buffer), status::command);
  EXPECT_EQ(parser.args()[0].size(), 1000u);
}

TEST(RequestParser, HundredThousandArgumentsInFourKilobyteSlicesParseInLinearTime) {
  command args;
  for (int i = 0; i < 100000; ++i) args.push_back("value" + std::to_string(i));
  const std::string input = multibulk(args);

  request_parser whole;
  ASSERT_EQ(whole.parse(input), status::command);
  ASSERT_EQ(whole.args().size(), args.size());
  EXPECT_LE(whole.bytes_examined(), input.size());

  request_parser sliced;
  std::string buffer;
  std::size_t calls = 0;
  status last = status::need_more;
  for (std::size_t fed = 0; fed < input.size(); fed += 4096) {
    buffer.append(input, fed, 4096);
    last = sliced.parse(buffer);
    ++calls;
    if (last == status::need_more) buffer.erase(0, sliced.consumed());
  }
  ASSERT_EQ(last, status::command);
  EXPECT_EQ(command(sliced.args().begin(), sliced.args().end()), args);
  // Resuming a header line split across slices re-reads at most its '\r'.
  EXPECT_LE(sliced.bytes_examined(), whole.bytes_examined() + calls);
}

TEST(RequestParser, BytesNeededHintIsTheRestOfTheBulkBeingRead) {
  request_parser parser;
  std::string buffer = "*2\r\n$3\r\nSET\r\n";
  EXPECT_EQ(parser.parse(buffer), status::need_more);
  EXPECT_EQ(parser.bytes_needed_hint(), 0u);
  buffer += "$10\r\nabc";
  EXPECT_EQ(parser.parse(buffer), status::need_more);
  EXPECT_EQ(parser.bytes_needed_hint(), 7u + 2u);
}

TEST(RequestParser, AcceptsABulkOfExactlyTheMaximumLengthWithoutBufferingIt) {
  request_parser parser;
  const std::string header = "*1\r\n$" + std::to_string(max_bulk_length) + "\r\n";
  EXPECT_EQ(parser.parse(header), status::need_more);
  EXPECT_EQ(parser.bytes_needed_hint(), max_bulk_length + 2);
  EXPECT_LT(parser.memory_usage(), 64u * 1024);
}

TEST(RequestParser, AHugeDeclaredCountReservesNothingBeyondTheArgumentsThatArrived) {
  request_parser parser;
  std::string buffer = "*1000000000\r\n";
  for (int i = 0; i < 5; ++i) buffer += "$3\r\nabc\r\n";
  EXPECT_EQ(parser.parse(buffer), status::need_more);
  EXPECT_LE(parser.memory_usage(), max_reserved_arguments * 64);
  EXPECT_LE(parser.args().capacity(), max_reserved_arguments);
}

TEST(RequestParser, TheLargestMultibulkCountIsAccepted) {
  EXPECT_EQ(error_of("*2147483647\r\n"), "(need more)");
}

TEST(RequestParser, ReleasesArgumentStorageOfAHugeCommandBeforeTheNext) {
  command args(100000, "a");
  const std::string input = multibulk(args) + multibulk({"PING"});
  request_parser parser;
  ASSERT_EQ(parser.parse(input), status::command);
  const std::size_t big = parser.memory_usage();
  ASSERT_EQ(parser.parse(input.data() + parser.consumed(), input.size() - parser.consumed()),
            status::command);
  EXPECT_LT(parser.memory_usage(), big / 10);
}

TEST(RequestParser, ResetForgetsAPartialCommandAndAnError) {
  request_parser parser;
  EXPECT_EQ(parser.parse("*1\r\n$x\r\n"), status::error);
  parser.reset();
  EXPECT_EQ(parser.parse("PING\r\n"), status::command);
  EXPECT_EQ(parser.args()[0], "PING");
}

// --- Malformed input -----------------------------------------------------------------

TEST(RequestParser, RejectsANonBulkElementInsideAMultibulk) {
  EXPECT_EQ(error_of("*2\r\n$3\r\nGET\r\n:1\r\n"), "Protocol error: expected '$', got ':'");
  EXPECT_EQ(error_of("*1\r\n+OK\r\n"), "Protocol error: expected '$', got '+'");
}

TEST(RequestParser, RejectsAWrongTypeByteAsSoonAsItArrives) {
  EXPECT_EQ(error_of("*1\r\nx"), "Protocol error: expected '$', got 'x'");
}

TEST(RequestParser, RejectsNegativeBulkLengths) {
  EXPECT_EQ(error_of("*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(error_of("*1\r\n$-100\r\n"), "Protocol error: invalid bulk length");
}

TEST(RequestParser, RejectsBulkLengthsBeyondTheMaximumWithoutAllocating) {
  request_parser parser;
  const std::string input = "*1\r\n$2147483648\r\n";
  EXPECT_EQ(parser.parse(input), status::error);
  EXPECT_EQ(parser.error(), "Protocol error: invalid bulk length");
  EXPECT_LT(parser.memory_usage(), 64u * 1024);
  EXPECT_EQ(error_of("*1\r\n$" + std::to_string(max_bulk_length + 1) + "\r\n"),
            "Protocol error: invalid bulk length");
  EXPECT_EQ(error_of("*1\r\n$99999999999999999999\r\n"), "Protocol error: invalid bulk length");
}

TEST(RequestParser, RejectsNonNumericBulkLengths) {
  for (const std::string length : {"", "abc", "+3", "03", " 3", "3 ", "-0", "3.0"}) {
    EXPECT_EQ(error_of("*1\r\n$" + length + "\r\nGET\r\n"), "Protocol error: invalid bulk length")
        << '"' << length << '"';
  }
}

TEST(RequestParser, RejectsMultibulkCountsAboveInt32Max) {
  EXPECT_EQ(error_of("*2147483648\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error_of("*9223372036854775808\r\n"), "Protocol error: invalid multibulk length");
}

TEST(RequestParser, RejectsNonNumericMultibulkCounts) {
  for (const std::string count : {"", "abc", "+1", "01", " 1", "1 ", "-0", "1x"}) {
    EXPECT_EQ(error_of("*" + count + "\r\n"), "Protocol error: invalid multibulk length")
        << '"' << count << '"';
  }
}

TEST(RequestParser, RejectsAHeaderLineWhoseCrIsNotFollowedByLf) {
  EXPECT_EQ(error_of("*1\rX"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error_of("*1\r\n$3\rXGET\r\n"), "Protocol error: invalid bulk length");
}

TEST(RequestParser, RejectsAMultibulkCountLineLongerThanTheInlineLimit) {
  EXPECT_EQ(error_of("*" + std::string(max_inline_length, '1')), "Protocol error: too big mbulk count string");
  // One byte less is still a line that may end.
  EXPECT_EQ(error_of("*" + std::string(max_inline_length - 1, '1')), "(need more)");
}

TEST(RequestParser, RejectsABulkLengthLineLongerThanTheInlineLimit) {
  EXPECT_EQ(error_of("*1\r\n$" + std::string(max_inline_length + 10, '1')),
            "Protocol error: too big bulk count string");
}

TEST(RequestParser, RejectsAnInlineRequestLongerThanTheInlineLimit) {
  const std::string megabyte(1024 * 1024, 'a');
  EXPECT_EQ(error_of(megabyte), "Protocol error: too big inline request");
  // The verdict does not depend on whether the newline happened to arrive too.
  EXPECT_EQ(error_of(megabyte + "\r\n"), "Protocol error: too big inline request");
  EXPECT_EQ(error_of(std::string(max_inline_length, 'a')), "(need more)");
  EXPECT_EQ(feed_whole(std::string(max_inline_length, 'a') + "\n").commands.size(), 1u);
}

TEST(RequestParser, RejectsUnbalancedQuotes) {
  for (const std::string line : {"SET k \"abc", "SET k 'abc", "SET k \"abc\"def",
                                 "SET k 'abc'def", "SET k \"abc\\\"", "SET k \"abc\\"}) {
    EXPECT_EQ(error_of(line + "\r\n"), "Protocol error: unbalanced quotes in request") << line;
  }
}

TEST(RequestParser, RejectsABulkPayloadNotFollowedByCrlf) {
  EXPECT_EQ(error_of("*1\r\n$3\r\nGETX\r\n"), "Protocol error: expected CRLF after bulk");
  EXPECT_EQ(error_of("*1\r\n$3\r\nGET\n\r"), "Protocol error: expected CRLF after bulk");
  EXPECT_EQ(error_of("*1\r\n$3\r\nGET\rX"), "Protocol error: expected CRLF after bulk");
}

TEST(RequestParser, RejectsGarbageAfterAMultibulkMarker) {
  EXPECT_EQ(error_of(std::string("*\xff\xfe\x00\x01\r\n", 7)),
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(error_of(std::string("*1\r\n\x00", 5)), std::string("Protocol error: expected '$', got '\0'", 37));
}

TEST(RequestParser, ErrorsAreSticky) {
  request_parser parser;
  EXPECT_EQ(parser.parse("*x\r\n"), status::error);
  EXPECT_EQ(parser.parse("PING\r\n"), status::error);
  EXPECT_EQ(parser.error(), "Protocol error: invalid multibulk length");
}

TEST(RequestParser, RandomBinaryGarbageGivesTheSameOutcomeHoweverItIsSplit) {
  std::mt19937 random(20240601);
  const std::string alphabet("*$\r\n0123-x \"'\\\0\xff", 17);
  for (int round = 0; round < 300; ++round) {
    std::string input;
    const std::size_t length = random() % 40;
    for (std::size_t i = 0; i < length; ++i) input.push_back(alphabet[random() % alphabet.size()]);
    SCOPED_TRACE(::testing::PrintToString(input));
    expect_split_invariant(input);
  }
}

}  // namespace
}  // namespace stairkv::protocol
