// Connection-level commands through the real node: AUTH with requirepass, HELLO
// (RESP2 and RESP3), CLIENT, CONFIG RESETSTAT and the idle `timeout`. Expected
// wording was taken from redis-server 7.0.15.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

using namespace stairkv::testing;

namespace {

class Auth : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--requirepass=s3cret"};
  }
};

class Connections : public server_test {};

} // namespace

TEST_F(Auth, NothingRunsBeforeAuthAndWrongPasswordsAreRefused) {
  EXPECT_TRUE(is_error(run({"SET", "k", "v"}), "NOAUTH Authentication required."));
  EXPECT_TRUE(is_error_starting_with(run({"HELLO", "3"}),
                                     "NOAUTH HELLO must be called with the client "
                                     "already authenticated"));
  EXPECT_TRUE(is_error(run({"AUTH", "wrong"}),
                       "WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_TRUE(is_error(run({"AUTH", "someone", "s3cret"}),
                       "WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_TRUE(is_status(run({"AUTH", "s3cret"}), "OK"));
  EXPECT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  hiredis_connection other{port()};
  EXPECT_TRUE(is_error(other.command({"GET", "k"}), "NOAUTH Authentication required."));
  auto hello = other.command({"HELLO", "2", "AUTH", "default", "s3cret"});
  ASSERT_TRUE(hello && hello->type == REDIS_REPLY_ARRAY) << describe(hello.get());
  EXPECT_TRUE(is_bulk(other.command({"GET", "k"}), "v"));
}

TEST_F(Auth, ThePasswordCanChangeWhileTheNodeRuns) {
  run({"AUTH", "s3cret"});
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "requirepass", "other"}), "OK"));
  hiredis_connection later{port()};
  EXPECT_TRUE(is_error(later.command({"AUTH", "s3cret"}),
                       "WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_TRUE(is_status(later.command({"AUTH", "default", "other"}), "OK"));
  EXPECT_TRUE(is_status(run({"PING"}), "PONG")); // this client stays authenticated
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "requirepass", ""}), "OK"));
  hiredis_connection free{port()};
  EXPECT_TRUE(is_status(free.command({"PING"}), "PONG"));
}

TEST_F(Connections, AuthWithoutAPasswordConfiguredIsAnError) {
  EXPECT_TRUE(is_error(run({"AUTH", "x"}),
                       "ERR AUTH <password> called without any password configured for "
                       "the default user. Are you sure your configuration is correct?"));
  EXPECT_TRUE(is_status(run({"AUTH", "default", "anything"}), "OK"));
}

TEST_F(Connections, HelloSwitchesToResp3AndBack) {
  EXPECT_TRUE(is_error(run({"HELLO", "4"}), "NOPROTO unsupported protocol version"));
  EXPECT_TRUE(is_error(run({"HELLO", "x"}),
                       "ERR Protocol version is not an integer or out of range"));
  EXPECT_TRUE(is_error(run({"HELLO", "3", "foo"}), "ERR Syntax error in HELLO option 'foo'"));
  // Debian's hiredis (0.14) reads RESP2 only: RESP3 is checked on the wire.
  raw_connection c{port()};
  c.send_all(encode_command({"CLIENT", "ID"}));
  auto id = c.read_line();
  ASSERT_EQ(id.front(), ':');
  c.send_all(encode_command({"HELLO", "3", "SETNAME", "tester"}));
  std::string expected = "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n"
                         "$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n"
                         + id + "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n"
                         "$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
  EXPECT_EQ(c.read_exactly(expected.size()), expected);
  // A missing value is RESP3's null; CONFIG GET is a map.
  c.send_all(encode_command({"GET", "nope"}));
  EXPECT_EQ(c.read_line(), "_\r\n");
  c.send_all(encode_command({"CONFIG", "GET", "maxclients"}));
  std::string config = "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n";
  EXPECT_EQ(c.read_exactly(config.size()), config);
  c.send_all(encode_command({"CLIENT", "GETNAME"}));
  EXPECT_EQ(c.read_exactly(12), "$6\r\ntester\r\n");
  c.send_all(encode_command({"HELLO", "2"}));
  EXPECT_EQ(c.read_line(), "*14\r\n");
}

TEST_F(Connections, ClientIdNameListAndInfo) {
  auto id = integer_of(run({"CLIENT", "ID"}));
  EXPECT_GT(id, 0);
  EXPECT_TRUE(is_nil(run({"CLIENT", "GETNAME"})));
  EXPECT_TRUE(is_error(run({"CLIENT", "SETNAME", "a b"}),
                       "ERR Client names cannot contain spaces, newlines or special "
                       "characters."));
  EXPECT_TRUE(is_status(run({"CLIENT", "SETNAME", "worker-1"}), "OK"));
  hiredis_connection other{port()};
  auto other_id = integer_of(other.command({"CLIENT", "ID"}));
  EXPECT_GT(other_id, id);
  other.command({"SUBSCRIBE", "x"});
  auto list = text_of(run({"CLIENT", "LIST"}));
  EXPECT_NE(list.find("id=" + std::to_string(id) + " "), std::string::npos) << list;
  EXPECT_NE(list.find("name=worker-1 "), std::string::npos) << list;
  EXPECT_NE(list.find("cmd=client|list "), std::string::npos) << list;
  auto pubsub = text_of(run({"CLIENT", "LIST", "TYPE", "pubsub"}));
  EXPECT_NE(pubsub.find("id=" + std::to_string(other_id) + " "), std::string::npos);
  EXPECT_NE(pubsub.find("sub=1 "), std::string::npos) << pubsub;
  EXPECT_EQ(pubsub.find("id=" + std::to_string(id) + " "), std::string::npos);
  auto only = text_of(run({"CLIENT", "LIST", "ID", std::to_string(id)}));
  EXPECT_EQ(std::count(only.begin(), only.end(), '\n'), 1) << only;
  EXPECT_TRUE(is_error(run({"CLIENT", "LIST", "TYPE", "foo"}), "ERR Unknown client type 'foo'"));
  auto info = text_of(run({"CLIENT", "INFO"}));
  EXPECT_EQ(info.rfind("id=" + std::to_string(id) + " ", 0), 0u) << info;
  EXPECT_TRUE(is_error(run({"CLIENT", "FOO"}), "ERR unknown subcommand 'FOO'. Try CLIENT HELP."));
}

// The address of the client with id `id`, as CLIENT LIST shows it.
std::string addr_of(const std::string& list, long long id) {
  auto at = list.find("id=" + std::to_string(id) + " addr=");
  if (at == std::string::npos)
    return "";
  auto begin = list.find("addr=", at) + 5;
  return list.substr(begin, list.find(' ', begin) - begin);
}

TEST_F(Connections, ClientKillClosesTheClientsItsFiltersMatchAndNoOneElse) {
  auto me = integer_of(run({"CLIENT", "ID"}));
  raw_connection by_id{port()};
  raw_connection by_addr{port()};
  raw_connection subscriber{port()};
  ASSERT_TRUE(subscriber.send_all(encode_command({"SUBSCRIBE", "news"})));
  ASSERT_EQ(subscriber.read_reply().type, '*');
  ASSERT_TRUE(by_id.send_all(encode_command({"CLIENT", "ID"})));
  auto victim = by_id.read_reply().integer;
  ASSERT_TRUE(by_addr.send_all(encode_command({"CLIENT", "ID"})));
  auto other = by_addr.read_reply().integer;
  EXPECT_TRUE(is_integer(run({"CLIENT", "KILL", "ID", std::to_string(victim)}), 1));
  EXPECT_TRUE(by_id.read_until_closed().closed);
  auto list = text_of(run({"CLIENT", "LIST"}));
  auto addr = addr_of(list, other);
  ASSERT_FALSE(addr.empty()) << list;
  // The old form: one address, +OK, or an error when nobody has it.
  EXPECT_TRUE(is_status(run({"CLIENT", "KILL", addr}), "OK"));
  EXPECT_TRUE(by_addr.read_until_closed().closed);
  EXPECT_TRUE(is_error(run({"CLIENT", "KILL", addr}), "ERR No such client"));
  // TYPE pubsub takes the subscriber only; SKIPME (yes by default) spares the caller.
  EXPECT_TRUE(is_integer(run({"CLIENT", "KILL", "TYPE", "pubsub"}), 1));
  EXPECT_TRUE(subscriber.read_until_closed().closed);
  EXPECT_TRUE(is_integer(run({"CLIENT", "KILL", "TYPE", "normal"}), 0));
  EXPECT_TRUE(is_integer(run({"CLIENT", "KILL", "TYPE", "master"}), 0));
  EXPECT_TRUE(is_integer(run({"CLIENT", "ID"}), me));
  EXPECT_TRUE(is_error(run({"CLIENT", "KILL", "ID", "0"}), "ERR client-id should be greater than 0"));
  EXPECT_TRUE(is_error(run({"CLIENT", "KILL", "TYPE", "odd"}), "ERR Unknown client type 'odd'"));
  EXPECT_TRUE(is_error(run({"CLIENT", "KILL", "ID", "5", "TYPE"}), "ERR syntax error"));
  EXPECT_TRUE(is_error(run({"CLIENT", "KILL", "USER", "bob"}), "ERR No such user 'bob'"));
  // NO-EVICT is accepted and shows as flag e.
  EXPECT_TRUE(is_status(run({"CLIENT", "NO-EVICT", "on"}), "OK"));
  EXPECT_NE(text_of(run({"CLIENT", "INFO"})).find(" flags=e "), std::string::npos);
  EXPECT_TRUE(is_error(run({"CLIENT", "NO-EVICT", "maybe"}), "ERR syntax error"));
  // SKIPME no: the caller goes too, after its reply.
  raw_connection last{port()};
  ASSERT_TRUE(last.send_all(encode_command({"CLIENT", "KILL", "SKIPME", "no"})));
  auto killed = last.read_reply();
  EXPECT_EQ(killed.type, ':');
  EXPECT_GE(killed.integer, 2);
  EXPECT_TRUE(last.read_until_closed().closed);
}

TEST_F(Connections, ClientPauseHoldsWritesOrEverythingUntilItEnds) {
  using namespace std::chrono;
  raw_connection other{port()};
  // WRITE: reads go on, writes wait, in order, until UNPAUSE.
  EXPECT_TRUE(is_status(run({"CLIENT", "PAUSE", "60000", "WRITE"}), "OK"));
  ASSERT_TRUE(other.send_all(encode_command({"GET", "k"})));
  EXPECT_TRUE(other.read_reply().nil);
  ASSERT_TRUE(other.send_all(encode_command({"SET", "k", "1"}) + encode_command({"GET", "k"})));
  // Nothing comes while the pause lasts (the write, and the read behind it).
  EXPECT_EQ(other.read_reply(milliseconds{200}).type, 0);
  EXPECT_TRUE(is_status(run({"CLIENT", "UNPAUSE"}), "OK"));
  auto set = other.read_reply();
  EXPECT_EQ(set.type, '+');
  EXPECT_EQ(set.text, "OK");
  EXPECT_EQ(other.read_reply().text, "1");
  // ALL: reads wait too; the pause ends by itself.
  auto started = steady_clock::now();
  EXPECT_TRUE(is_status(run({"CLIENT", "PAUSE", "300"}), "OK"));
  ASSERT_TRUE(other.send_all(encode_command({"GET", "k"})));
  EXPECT_EQ(other.read_reply().text, "1");
  EXPECT_GE(duration_cast<milliseconds>(steady_clock::now() - started).count(), 250);
  EXPECT_TRUE(is_error(run({"CLIENT", "PAUSE", "soon"}),
                       "ERR timeout is not an integer or out of range"));
  EXPECT_TRUE(is_error(run({"CLIENT", "PAUSE", "-1"}), "ERR timeout is negative"));
  EXPECT_TRUE(is_error(run({"CLIENT", "PAUSE", "10", "SOMETIMES"}), "ERR syntax error"));
}

TEST_F(Connections, ConfigResetstatZeroesTheCounters) {
  run({"SET", "k", "v"});
  run({"GET", "k"});
  run({"GET", "missing"});
  EXPECT_TRUE(is_status(run({"CONFIG", "RESETSTAT"}), "OK"));
  auto stats = text_of(run({"INFO", "stats"}));
  EXPECT_NE(stats.find("keyspace_hits:0\r\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("keyspace_misses:0\r\n"), std::string::npos) << stats;
  // INFO itself is the one command since the reset.
  EXPECT_NE(stats.find("total_commands_processed:1\r\n"), std::string::npos) << stats;
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v")); // data is untouched
}

class IdleTimeout : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--timeout=1"};
  }
};

TEST_F(IdleTimeout, IdleClientsAreClosedSubscribersAndActiveOnesStay) {
  hiredis_connection idle{port(), std::chrono::seconds{10}};
  hiredis_connection subscriber{port(), std::chrono::seconds{10}};
  subscriber.command({"SUBSCRIBE", "news"});
  EXPECT_TRUE(is_status(idle.command({"PING"}), "PONG"));
  // The idle client is closed within the timeout plus one check interval; its
  // blocking read ends with the connection closed (not with our own timeout).
  bool closed = false;
  try {
    idle.get_reply();
  } catch (const std::exception&) {
    closed = idle.context()->err == REDIS_ERR_EOF;
  }
  EXPECT_TRUE(closed) << idle.context()->errstr;
  // (The fixture's own client was idle all along and is gone too.)
  hiredis_connection publisher{port()};
  EXPECT_TRUE(is_integer(publisher.command({"PUBLISH", "news", "still here"}), 1));
  auto message = subscriber.get_reply();
  ASSERT_TRUE(message && message->type == REDIS_REPLY_ARRAY && message->elements == 3);
  EXPECT_EQ(std::string(message->element[2]->str), "still here");
}

TEST_F(Auth, ResetAsksForThePasswordAgain) {
  EXPECT_TRUE(is_status(run({"RESET"}), "RESET")); // allowed before AUTH
  EXPECT_TRUE(is_status(run({"AUTH", "s3cret"}), "OK"));
  EXPECT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_status(run({"RESET"}), "RESET"));
  EXPECT_TRUE(is_error(run({"GET", "k"}), "NOAUTH Authentication required."));
}

TEST_F(Connections, ResetEndsSubscriptionsMonitorNameAndReplyOff) {
  hiredis_connection c{port()};
  EXPECT_TRUE(is_status(c.command({"CLIENT", "SETNAME", "before"}), "OK"));
  auto subscribed = c.command({"SUBSCRIBE", "news"});
  ASSERT_EQ(subscribed->type, REDIS_REPLY_ARRAY);
  EXPECT_TRUE(is_status(c.command({"RESET"}), "RESET")); // allowed while subscribed
  EXPECT_TRUE(is_status(c.command({"SET", "after", "1"}), "OK"));
  EXPECT_TRUE(is_integer(run({"PUBLISH", "news", "x"}), 0));
  EXPECT_TRUE(is_status(c.command({"MONITOR"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"RESET"}), "RESET"));
  auto list = text_of(run({"CLIENT", "LIST"}));
  EXPECT_EQ(list.find("flags=O"), std::string::npos) << list;
  EXPECT_EQ(list.find("name=before"), std::string::npos) << list;
  // A monitor no more: other clients' commands do not reach it.
  EXPECT_TRUE(is_status(run({"SET", "x", "y"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"ECHO", "next"}), "next"));
}
