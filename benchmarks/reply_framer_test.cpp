#include "benchmarks/reply_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "modules/protocol/reply_reader.hpp"

namespace stairkv::bench {
namespace {

using kind = reply_summary::kind;

struct framed {
  kind type;
  std::size_t size;
  std::string text;
};

// Feeds `stream` to a framer the way a connection receives it: the first `split`
// bytes, then the rest, dropping each complete reply from the front.
std::vector<framed> frame_all(const std::string& stream, std::size_t split) {
  std::vector<framed> out;
  reply_framer framer;
  std::string buffer;
  std::size_t fed = 0;
  for (std::size_t part : {split, stream.size()}) {
    buffer.append(stream, fed, part - fed);
    fed = part;
    for (;;) {
      reply_summary summary;
      const frame_status status = framer.next(buffer, summary);
      if (status == frame_status::incomplete) break;
      if (status == frame_status::malformed) {
        ADD_FAILURE() << "malformed: " << framer.error();
        return out;
      }
      out.push_back({summary.type, summary.size, std::string(summary.text)});
      buffer.erase(0, summary.size);
    }
  }
  EXPECT_TRUE(buffer.empty()) << "left over: " << buffer;
  return out;
}

const std::string every_reply =
    "+OK\r\n"
    "-ERR wrong number of arguments for 'get' command\r\n"
    ":42\r\n"
    "$16\r\nabcdefghijklmnop\r\n"
    "$0\r\n\r\n"
    "$-1\r\n"
    "$4\r\na\r\nb\r\n"
    "*3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n"
    "*-1\r\n"
    "_\r\n"
    "!11\r\nERR blobbed\r\n"
    "%1\r\n+k\r\n:1\r\n"
    "+PONG\r\n";

TEST(ReplyFramer, AgreesWithTheFullReaderOnEveryReplyAtEverySplit) {
  // What the project's reader makes of the stream, reply by reply.
  std::vector<std::size_t> sizes;
  {
    std::string_view rest = every_reply;
    while (!rest.empty()) {
      protocol::reply value;
      const auto result = protocol::read_reply(rest, value);
      ASSERT_EQ(result.status, protocol::read_status::complete);
      sizes.push_back(result.consumed);
      rest.remove_prefix(result.consumed);
    }
  }
  const std::vector<kind> kinds = {kind::status, kind::error, kind::integer, kind::bulk,
                                   kind::bulk,   kind::null,  kind::bulk,    kind::other,
                                   kind::null,   kind::null,  kind::error,   kind::other,
                                   kind::status};
  ASSERT_EQ(sizes.size(), kinds.size());
  for (std::size_t split = 0; split <= every_reply.size(); ++split) {
    const auto replies = frame_all(every_reply, split);
    ASSERT_EQ(replies.size(), kinds.size()) << "split at " << split;
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      EXPECT_EQ(replies[i].type, kinds[i]) << "reply " << i << ", split at " << split;
      EXPECT_EQ(replies[i].size, sizes[i]) << "reply " << i << ", split at " << split;
    }
    EXPECT_EQ(replies[0].text, "OK");
    EXPECT_EQ(replies[1].text, "ERR wrong number of arguments for 'get' command");
    EXPECT_EQ(replies[10].text, "ERR blobbed");
  }
}

TEST(ReplyFramer, WaitsForTheWholeBulkPayload) {
  reply_framer framer;
  reply_summary summary;
  EXPECT_EQ(framer.next("$5\r\nhel", summary), frame_status::incomplete);
  EXPECT_EQ(framer.next("$5\r\nhello\r", summary), frame_status::incomplete);
  ASSERT_EQ(framer.next("$5\r\nhello\r\n:1\r\n", summary), frame_status::complete);
  EXPECT_EQ(summary.type, kind::bulk);
  EXPECT_EQ(summary.size, 11u);
}

TEST(ReplyFramer, RejectsWhatIsNotResp) {
  for (const char* bad :
       {"$abc\r\n", "$-2\r\n", ":1x\r\n", "+OK\rX", "$1\r\nab\r\n", "?\r\n"}) {
    reply_framer framer;
    reply_summary summary;
    EXPECT_EQ(framer.next(bad, summary), frame_status::malformed) << bad;
    EXPECT_FALSE(framer.error().empty()) << bad;
  }
}

}  // namespace
}  // namespace stairkv::bench
