// A client that sends without reading its replies: its unwritten output stays
// bounded (the node stops reading its requests instead), it loses nothing once it
// reads, and nobody else waits. An unauthenticated client gets Redis's 1 KB.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

class OutputBound : public server_test {};

// omem= of client `id` in CLIENT LIST, or -1 if it is not listed.
long long omem_of(hiredis_connection& c, long long id) {
  auto list = text_of(c.command({"CLIENT", "LIST", "ID", std::to_string(id)}));
  auto at = list.find(" omem=");
  return at == std::string::npos ? -1 : std::stoll(list.substr(at + 6));
}

TEST_F(OutputBound, APipelineOfAMillionUnreadCommandsStaysBoundedAndLosesNothing) {
  raw_connection flood{port()};
  flood.send_all(encode_command({"CLIENT", "ID"}));
  auto id_line = flood.read_line();
  ASSERT_EQ(id_line.front(), ':');
  auto id = std::stoll(id_line.substr(1));
  constexpr int commands = 1000000;
  std::string chunk;
  for (int i = 0; i < 1000; ++i)
    chunk += encode_command({"SET", "k" + std::to_string(i % 100), "v"});
  std::atomic<bool> sent_all{false};
  std::thread sender{[&] {
    for (int i = 0; i < commands / 1000; ++i)
      if (!flood.send_all(chunk))
        return;
    sent_all = true;
  }};
  // Wait until the node holds a good deal of unwritten output for the flooder,
  // then check a few times that it stays bounded while nothing is read.
  hiredis_connection observer{port()};
  long long seen = 0;
  while (seen < 256 * 1024)
    seen = omem_of(observer, id);
  for (int i = 0; i < 50; ++i) {
    auto omem = omem_of(observer, id);
    EXPECT_LT(omem, 4ll << 20) << "unwritten output of the flooding client";
    EXPECT_TRUE(is_status(observer.command({"PING"}), "PONG"));
  }
  EXPECT_FALSE(sent_all.load()) << "the node kept reading a client that does not read";
  // Now read: every reply arrives, in full.
  const std::string ok = "+OK\r\n";
  std::string replies = flood.read_exactly(ok.size() * commands, std::chrono::seconds{120});
  sender.join();
  EXPECT_TRUE(sent_all.load());
  ASSERT_EQ(replies.size(), ok.size() * commands);
  std::size_t oks = 0;
  for (std::size_t at = 0; at < replies.size(); at += ok.size())
    oks += replies.compare(at, ok.size(), ok) == 0 ? 1 : 0;
  EXPECT_EQ(oks, static_cast<std::size_t>(commands));
  EXPECT_TRUE(is_bulk(run({"GET", "k99"}), "v"));
}

class UnauthenticatedOutput : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--requirepass=pw"};
  }
};

TEST_F(UnauthenticatedOutput, IsCutOffPastOneKilobyteLikeRedis) {
  raw_connection anonymous{port()};
  std::string chunk;
  for (int i = 0; i < 1000; ++i)
    chunk += encode_command({"SET", "x", "5"});
  // Each gets -NOAUTH; once the kernel's buffers are full, the node's own output
  // passes 1 KB and it closes the connection.
  bool cut = false;
  for (int i = 0; i < 10000 && !cut; ++i)
    cut = !anonymous.send_all(chunk);
  if (!cut)
    cut = anonymous.read_until_closed(std::chrono::seconds{30}).closed;
  EXPECT_TRUE(cut);
  hiredis_connection fine{port()};
  EXPECT_TRUE(is_status(fine.command({"AUTH", "pw"}), "OK"));
  EXPECT_TRUE(is_status(fine.command({"PING"}), "PONG"));
}

} // namespace
} // namespace stairkv::testing
