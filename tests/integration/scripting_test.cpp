// EVAL, EVALSHA and SCRIPT through the real node: replies and errors with
// hiredis, a script over undeclared keys on every shard that no reader ever
// sees half done (also while the engine grows), a script on declared keys
// that lets commands on other keys through, redis-py's Lock as users call
// it, and a rate limiter under fifty clients.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

TEST(Scripting, EvalEvalshaAndScriptAnswerAsRedis) {
  server_process server;
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"EVAL", "return redis.call('set', KEYS[1], ARGV[1])",
                                   "1", "k", "v"}),
                        "OK"));
  EXPECT_TRUE(is_bulk(c.command({"EVAL", "return redis.call('get', KEYS[1])", "1", "k"}),
                      "v"));
  auto sha = c.command({"SCRIPT", "LOAD", "return redis.call('incrby', KEYS[1], ARGV[1])"});
  ASSERT_EQ(sha->type, REDIS_REPLY_STRING);
  EXPECT_EQ(sha->len, 40u); // its SHA1, in hex
  EXPECT_TRUE(is_integer(c.command({"EVALSHA", sha->str, "1", "n", "5"}), 5));
  EXPECT_TRUE(is_integer(c.command({"EVALSHA", sha->str, "1", "n", "5"}), 10));
  auto exists = c.command({"SCRIPT", "EXISTS", sha->str, "ffffffffffffffffffffffffffffffffffffffff"});
  ASSERT_EQ(exists->elements, 2u);
  EXPECT_EQ(exists->element[0]->integer, 1);
  EXPECT_EQ(exists->element[1]->integer, 0);
  EXPECT_TRUE(is_status(c.command({"SCRIPT", "FLUSH"}), "OK"));
  EXPECT_TRUE(is_error(c.command({"EVALSHA", sha->str, "1", "n", "5"}),
                       "NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_TRUE(is_error(c.command({"EVAL", "return 1", "2", "a"}),
                       "ERR Number of keys can't be greater than number of args"));
  EXPECT_TRUE(is_error(c.command({"EVAL", "return 1", "-1"}),
                       "ERR Number of keys can't be negative"));
  EXPECT_TRUE(is_error(c.command({"EVAL", "return redis.call('set', 'x')", "0"}),
                       "ERR Wrong number of args calling Redis command from script"));
  EXPECT_TRUE(is_error(c.command({"EVAL_RO", "return redis.call('set', 'x', 1)", "0"}),
                       "ERR Write commands are not allowed from read-only scripts."));
  EXPECT_TRUE(is_integer(c.command({"EVAL_RO", "return redis.call('exists', 'k')", "0"}), 1));
  // A wrong type error from a call comes back as the call's error.
  auto raised = c.command({"EVAL", "return redis.call('incr', KEYS[1])", "1", "k"});
  EXPECT_EQ(raised->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{raised->str}, "ERR value is not an integer or out of range");
  // Globals are protected: none can be written, none that is missing read.
  auto global = c.command({"EVAL", "x = 1", "0"});
  ASSERT_EQ(global->type, REDIS_REPLY_ERROR);
  EXPECT_NE(std::string{global->str}.find("Attempt to modify a readonly table"),
            std::string::npos)
    << global->str;
  auto trick = c.command({"EVAL", "redis.call = function() return 1 end", "0"});
  ASSERT_EQ(trick->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(is_bulk(c.command({"EVAL", "return type(redis.call)", "0"}), "function"));
  auto missing = c.command({"EVAL", "return y", "0"});
  ASSERT_EQ(missing->type, REDIS_REPLY_ERROR);
  EXPECT_NE(std::string{missing->str}.find("nonexistent global variable 'y'"),
            std::string::npos);
  EXPECT_TRUE(is_status(c.command({"PING"}), "PONG")); // the connection goes on
}

// RENAME, RENAMENX and MSETNX read before they write, in steps: from a script
// too, across shards, with their replies as Redis gives them.
TEST(Scripting, ScriptsCallRenameAndMsetnx) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  auto r = c.command({"EVAL",
                      "redis.call('set', KEYS[1], 'v') "
                      "local a = redis.call('rename', KEYS[1], KEYS[2]) "
                      "local b = redis.call('renamenx', KEYS[2], KEYS[3]) "
                      "local n = redis.call('msetnx', KEYS[4], '1', KEYS[5], '2') "
                      "local m = redis.call('msetnx', KEYS[5], '3', KEYS[6], '4') "
                      "return {a.ok, b, n, m, redis.call('get', KEYS[3]), "
                      "redis.call('exists', KEYS[1], KEYS[2], KEYS[6])}",
                      "6", "s1", "s2", "s3", "m1", "m2", "m3"});
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 6u);
  EXPECT_EQ(std::string{r->element[0]->str}, "OK");
  EXPECT_EQ(r->element[1]->integer, 1);
  EXPECT_EQ(r->element[2]->integer, 1);
  EXPECT_EQ(r->element[3]->integer, 0);
  EXPECT_EQ(std::string{r->element[4]->str}, "v");
  EXPECT_EQ(r->element[5]->integer, 0);
  auto missing = c.command({"EVAL", "return redis.pcall('rename', 'nope', 'x')", "0"});
  ASSERT_EQ(missing->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{missing->str}, "ERR no such key");
  auto ro = c.command({"EVAL_RO", "return redis.call('rename', 'm1', 'x')", "0"});
  ASSERT_EQ(ro->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{ro->str}.rfind("ERR Write commands are not allowed", 0), 0u) << ro->str;
  EXPECT_TRUE(is_bulk(c.command({"GET", "m2"}), "2"));
}

namespace {

// A script writes `generation` to 20 keys it does not declare, spread over
// every shard, while two readers MGET them; returns how many reads saw two
// generations. `pipelined`: the writer sends every script at once (each
// script's end starts the next one from the same client's input).
int torn_script_reads(std::uint16_t port, int generations, int& reads_done,
                      bool pipelined = false) {
  constexpr int keys = 20;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    hiredis_connection r{port};
    std::vector<std::string> mget{"MGET"};
    for (int i = 1; i <= keys; ++i)
      mget.push_back("u:" + std::to_string(i));
    while (!done) {
      auto reply = r.command(mget);
      std::string first;
      bool mixed = false;
      for (std::size_t i = 0; i < reply->elements; ++i) {
        std::string v = reply->element[i]->type == REDIS_REPLY_STRING ? reply->element[i]->str : "";
        if (i == 0)
          first = v;
        else if (v != first)
          mixed = true;
      }
      torn += mixed ? 1 : 0;
      ++reads;
    }
  };
  std::thread a{reader};
  std::thread b{reader};
  hiredis_connection w{port};
  const std::string script =
    "for i = 1, 20 do redis.call('set', 'u:' .. i, ARGV[1]) end "
    "return redis.call('get', 'u:20')";
  if (pipelined) {
    for (int gen = 1; gen <= generations; ++gen)
      w.append({"EVAL", script, "0", std::to_string(gen)});
    for (int gen = 1; gen <= generations; ++gen)
      EXPECT_TRUE(is_bulk(w.get_reply(), std::to_string(gen)));
  } else {
    for (int gen = 1; gen <= generations; ++gen)
      EXPECT_TRUE(is_bulk(w.command({"EVAL", script, "0", std::to_string(gen)}),
                          std::to_string(gen)));
  }
  done = true;
  a.join();
  b.join();
  reads_done = reads.load();
  return torn.load();
}

} // namespace

TEST(Scripting, AScriptOverUndeclaredKeysOnEveryShardIsOneStep) {
  server_process server{{"--stairs=3"}};
  int reads = 0;
  EXPECT_EQ(torn_script_reads(server.port(), 300, reads), 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 0);
  reads = 0;
  EXPECT_EQ(torn_script_reads(server.port(), 300, reads, true), 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 0);
}

TEST(Scripting, AScriptStaysOneStepWhileTheEngineGrows) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port()};
  // Enough keys for several migrations, each long enough for short rounds
  // to start and end inside one even on a fast machine.
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "200000"}), "OK"));
  int reads = 0;
  int torn = 0;
  bool moved_during = rounds_while_keys_move(
    c,
    [&] {
      int r = 0;
      torn += torn_script_reads(server.port(), 10, r);
      reads += r;
    },
    [&] { return info_integer(c, "engine_migrating") == 0; });
  EXPECT_TRUE(moved_during) << "no script ran while keys moved";
  EXPECT_EQ(torn, 0) << "of " << reads << " reads";
}

// redis-py's Lock runs Lua for release and extend: 8 processes take turns
// under one lock to add to a counter with GET and SET, and none is lost.
TEST(Scripting, RedisPyLocksGuardACounterAcrossEightProcesses) {
  server_process server{{"--stairs=3"}};
  const std::string script = R"(
import sys, multiprocessing, redis
port = int(sys.argv[1])

def work(_):
    r = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(50):
        with r.lock("counter-lock", timeout=10, blocking_timeout=30) as lock:
            value = int(r.get("counter") or 0)
            lock.extend(5)
            r.set("counter", value + 1)
    return 50

with multiprocessing.Pool(8) as pool:
    done = sum(pool.map(work, range(8)))
r = redis.Redis(host="127.0.0.1", port=port)
lock = r.lock("another", timeout=5)
assert lock.acquire(blocking=False)
assert not r.lock("another", timeout=5).acquire(blocking=False)
lock.release()
print(done, int(r.get("counter")), r.exists("counter-lock"), r.exists("another"))
)";
  auto result = run_python(server.port(), script, 300s);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "400 400 0 0\n") << result.describe();
}

// A sliding-window rate limiter as applications write it: per-second buckets
// summed over the window, the current one counted when under the limit.
// Fifty clients asking at once for the same instant get exactly the limit
// between them (a check and a count that interleaved would let more through);
// half a window later nobody gets through, a whole window later the limit
// again: what Redis answers, by construction of the script.
TEST(Scripting, ASlidingWindowLimiterAdmitsExactlyItsLimitUnderFiftyClients) {
  server_process server{{"--stairs=3"}};
  const std::string limiter = R"(
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local names = {}
for t = now - window + 1, now do names[#names + 1] = KEYS[1] .. ':' .. t end
local counts = redis.call('MGET', unpack(names))
local total = 0
for i = 1, #names do
  if counts[i] then total = total + tonumber(counts[i]) end
end
if total >= limit then return 0 end
local bucket = KEYS[1] .. ':' .. now
redis.call('INCR', bucket)
redis.call('PEXPIRE', bucket, window * 2000)
return 1
)";
  hiredis_connection setup{server.port()};
  auto sha_reply = setup.command({"SCRIPT", "LOAD", limiter});
  ASSERT_EQ(sha_reply->type, REDIS_REPLY_STRING);
  std::string sha = sha_reply->str;
  constexpr int clients = 50, each = 10, limit = 300, window = 10;
  auto round = [&](int now) {
    std::atomic<int> admitted{0}, answered{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&] {
        hiredis_connection c{server.port()};
        for (int n = 0; n < each; ++n)
          c.append({"EVALSHA", sha, "1", "api-limit", std::to_string(now),
                    std::to_string(window), std::to_string(limit)});
        for (int n = 0; n < each; ++n) {
          auto r = c.get_reply();
          if (r->type == REDIS_REPLY_INTEGER) {
            ++answered;
            admitted += static_cast<int>(r->integer);
          }
        }
      });
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(answered.load(), clients * each);
    return admitted.load();
  };
  EXPECT_EQ(round(1000), limit);
  EXPECT_EQ(round(1000 + window / 2), 0);
  EXPECT_EQ(round(1000 + window), limit);
  EXPECT_TRUE(is_bulk(setup.command({"GET", "api-limit:1000"}), std::to_string(limit)));
}

// A script that does not end: past the busy threshold (5 s) other clients get
// -BUSY, SCRIPT KILL stops it while it has not written, and -UNKILLABLE
// refuses once it has; SHUTDOWN NOSAVE still ends the node.
namespace {

// Sends PING until it is refused: PING touches no key, so it is answered PONG
// while the script runs, and -BUSY once the script passes the threshold.
reply_ptr ping_until_busy(hiredis_connection& c) {
  for (;;) {
    auto r = c.command({"PING"});
    if (r->type != REDIS_REPLY_STATUS)
      return r;
  }
}

} // namespace

TEST(Scripting, ABusyScriptAnswersBusyAndScriptKillStopsIt) {
  server_process server;
  hiredis_connection runner{server.port(), 30s};
  hiredis_connection other{server.port(), 30s};
  // Redis's two names of the threshold are one setting.
  EXPECT_TRUE(is_status(other.command({"CONFIG", "SET", "lua-time-limit", "200"}), "OK"));
  auto both = other.command({"CONFIG", "GET", "busy-reply-threshold"});
  ASSERT_EQ(both->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(both->elements, 2u);
  EXPECT_EQ(std::string{both->element[1]->str}, "200");
  // The script's own client pipelines a PING after it: that PING waits for
  // the script and is answered PONG, never BUSY.
  runner.append({"EVAL", "local i = 0 while true do i = i + 1 end", "0"});
  runner.append({"PING"});
  runner.flush();
  // Waits (held) until the threshold, then is answered BUSY.
  auto busy = ping_until_busy(other);
  ASSERT_EQ(busy->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{busy->str}.rfind("BUSY Redis is busy running a script.", 0), 0u)
    << busy->str;
  EXPECT_TRUE(is_status(other.command({"SCRIPT", "KILL"}), "OK"));
  auto killed = runner.get_reply();
  ASSERT_EQ(killed->type, REDIS_REPLY_ERROR);
  EXPECT_NE(std::string{killed->str}.find("Script killed by user with SCRIPT KILL"),
            std::string::npos)
    << killed->str;
  EXPECT_TRUE(is_status(runner.get_reply(), "PONG"));
  EXPECT_TRUE(is_status(other.command({"PING"}), "PONG"));
  EXPECT_TRUE(is_error(other.command({"SCRIPT", "KILL"}),
                       "NOTBUSY No scripts in execution right now."));
  // pcall does not save a killed script either.
  runner.append({"EVAL", "while true do pcall(function() local x = 1 end) end", "0"});
  runner.flush();
  EXPECT_EQ(ping_until_busy(other)->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(is_status(other.command({"SCRIPT", "KILL"}), "OK"));
  EXPECT_EQ(runner.get_reply()->type, REDIS_REPLY_ERROR);
  // FUNCTION KILL stops functions only, SCRIPT KILL scripts only.
  EXPECT_TRUE(is_bulk(other.command({"FUNCTION", "LOAD",
                                     "#!lua name=spin\nredis.register_function('spin', "
                                     "function() while true do end end)"}),
                      "spin"));
  runner.append({"FCALL", "spin", "0"});
  runner.flush();
  EXPECT_EQ(ping_until_busy(other)->type, REDIS_REPLY_ERROR);
  auto wrong_kill = other.command({"SCRIPT", "KILL"});
  ASSERT_EQ(wrong_kill->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{wrong_kill->str}.rfind("BUSY", 0), 0u) << wrong_kill->str;
  auto stats = other.command({"FUNCTION", "STATS"});
  ASSERT_EQ(stats->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(stats->elements, 4u);
  ASSERT_EQ(stats->element[1]->type, REDIS_REPLY_ARRAY); // running_script
  EXPECT_EQ(std::string{stats->element[1]->element[1]->str}, "spin");
  EXPECT_TRUE(is_status(other.command({"FUNCTION", "KILL"}), "OK"));
  EXPECT_EQ(runner.get_reply()->type, REDIS_REPLY_ERROR);
  // Once it has written, it cannot be killed.
  runner.append({"EVAL", "redis.call('set', 'x', 1) while true do end", "0"});
  runner.flush();
  EXPECT_EQ(ping_until_busy(other)->type, REDIS_REPLY_ERROR);
  auto unkillable = other.command({"SCRIPT", "KILL"});
  ASSERT_EQ(unkillable->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{unkillable->str}.rfind("UNKILLABLE", 0), 0u) << unkillable->str;
  other.append({"SHUTDOWN", "NOSAVE"});
  other.flush();
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// PUBLISH from a script reaches subscribers and answers their count, as
// redis.call('publish', ...) in job queues' scripts expects; read-only scripts
// may not publish (Redis counts it as a write there).
TEST(Scripting, ScriptsPublishToSubscribers) {
  server_process server;
  hiredis_connection subscriber{server.port()};
  hiredis_connection c{server.port()};
  auto subscribed = subscriber.command({"SUBSCRIBE", "jobs"});
  ASSERT_EQ(subscribed->type, REDIS_REPLY_ARRAY);
  EXPECT_TRUE(is_integer(
    c.command({"EVAL", "redis.call('set', KEYS[1], ARGV[1]) "
                       "return redis.call('publish', 'jobs', 'added:' .. ARGV[1])",
               "1", "job:1", "payload"}),
    1));
  auto message = subscriber.get_reply();
  ASSERT_EQ(message->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(message->elements, 3u);
  EXPECT_EQ(std::string{message->element[0]->str}, "message");
  EXPECT_EQ(std::string{message->element[1]->str}, "jobs");
  EXPECT_EQ(std::string{message->element[2]->str}, "added:payload");
  EXPECT_TRUE(is_integer(c.command({"EVAL", "return redis.call('publish', 'none', 'x')", "0"}),
                         0));
  EXPECT_TRUE(is_error(c.command({"EVAL_RO", "return redis.call('publish', 'jobs', 'x')", "0"}),
                       "ERR Write commands are not allowed from read-only scripts."));
  EXPECT_TRUE(is_bulk(c.command({"GET", "job:1"}), "payload"));
}

namespace {

// Waits until the node plans `runner`'s EVAL: CLIENT LIST names it as that
// client's command (a script that never ends by itself is running then).
void await_running_script(hiredis_connection& other, long long runner_id) {
  std::string mine = "id=" + std::to_string(runner_id) + " ";
  for (;;) {
    auto list = other.command({"CLIENT", "LIST"});
    ASSERT_EQ(list->type, REDIS_REPLY_STRING);
    std::string text{list->str, list->len};
    auto at = text.find(mine);
    ASSERT_NE(at, std::string::npos) << text;
    auto line = text.substr(at, text.find('\n', at) - at);
    if (line.find(" cmd=eval ") != std::string::npos)
      return;
  }
}

} // namespace

// A script that keeps to its declared keys holds just them: other clients'
// commands on other keys (a MULTI/EXEC too) are served while it runs, and
// one on its key waits (till the busy threshold makes it -BUSY).
TEST(Scripting, AScriptOnDeclaredKeysLetsOtherKeysBeServed) {
  server_process server{{"--stairs=3"}};
  hiredis_connection runner{server.port(), 30s};
  hiredis_connection other{server.port(), 30s};
  hiredis_connection same_key{server.port(), 30s};
  EXPECT_TRUE(is_status(other.command({"CONFIG", "SET", "busy-reply-threshold", "3000"}),
                        "OK"));
  EXPECT_TRUE(is_status(other.command({"MSET", "k", "mine", "o1", "v1"}), "OK"));
  auto id = runner.command({"CLIENT", "ID"});
  ASSERT_EQ(id->type, REDIS_REPLY_INTEGER);
  runner.append({"EVAL", "redis.call('get', KEYS[1]) while true do end", "1", "k"});
  runner.flush();
  await_running_script(other, id->integer);
  EXPECT_TRUE(is_bulk(other.command({"GET", "o1"}), "v1"));
  EXPECT_TRUE(is_status(other.command({"SET", "o2", "v2"}), "OK"));
  other.append({"MULTI"});
  other.append({"INCR", "o3"});
  other.append({"GET", "o2"});
  other.append({"EXEC"});
  EXPECT_TRUE(is_status(other.get_reply(), "OK"));
  EXPECT_TRUE(is_status(other.get_reply(), "QUEUED"));
  EXPECT_TRUE(is_status(other.get_reply(), "QUEUED"));
  auto exec = other.get_reply();
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY) << describe(exec.get());
  ASSERT_EQ(exec->elements, 2u);
  EXPECT_EQ(exec->element[0]->integer, 1);
  // The script's key: held until the script is busy, then refused.
  auto held = same_key.command({"GET", "k"});
  EXPECT_TRUE(is_error_starting_with(held, "BUSY Redis is busy running a script."));
  EXPECT_TRUE(is_status(other.command({"SCRIPT", "KILL"}), "OK"));
  auto killed = runner.get_reply();
  ASSERT_EQ(killed->type, REDIS_REPLY_ERROR);
  EXPECT_NE(std::string{killed->str}.find("Script killed by user"), std::string::npos);
  EXPECT_TRUE(is_bulk(same_key.command({"GET", "k"}), "mine"));
  EXPECT_TRUE(is_bulk(runner.command({"GET", "o2"}), "v2"));
}

// A call past the declared keys takes the whole store: no other client's
// command is planned after it until the script ends, so nothing sees what
// the script wrote to an undeclared key before the script is over.
TEST(Scripting, AScriptPastItsDeclaredKeysHoldsTheWholeStore) {
  server_process server{{"--stairs=3"}};
  hiredis_connection runner{server.port(), 30s};
  hiredis_connection other{server.port(), 30s};
  EXPECT_TRUE(is_status(other.command({"CONFIG", "SET", "busy-reply-threshold", "2000"}),
                        "OK"));
  EXPECT_TRUE(is_status(other.command({"SET", "u", "before"}), "OK"));
  runner.append({"EVAL", "redis.call('get', KEYS[1]) redis.call('set', ARGV[1], 'seen') "
                         "while true do end",
                 "1", "k", "u"});
  runner.flush();
  // Before the script's SET, GET u answers "before"; after it, it waits for
  // the script, and is answered -BUSY past the threshold. Never "seen".
  reply_ptr r;
  do {
    r = other.command({"GET", "u"});
  } while (r->type == REDIS_REPLY_STRING && std::string{r->str} == "before");
  EXPECT_TRUE(is_error_starting_with(r, "BUSY Redis is busy running a script."))
    << describe(r.get());
  other.append({"SHUTDOWN", "NOSAVE"}); // it wrote: SCRIPT KILL cannot stop it
  other.flush();
  EXPECT_EQ(server.stop(), 0) << server.log();
}

// A script's reply comes between its client's replies before and after it
// (it is written on its own, not in the plan it was parsed in), and EVAL
// inside MULTI answers in its place in the array.
TEST(Scripting, RepliesAroundAScriptAndInsideExecKeepTheirOrder) {
  server_process server;
  hiredis_connection c{server.port()};
  // One client pipelines a command, a slow script and a command after it.
  c.append({"SET", "before", "1"});
  c.append({"EVAL", "local n = 0 for i = 1, 3000000 do n = n + 1 end return n", "0"});
  c.append({"GET", "before"});
  EXPECT_TRUE(is_status(c.get_reply(), "OK"));
  EXPECT_TRUE(is_integer(c.get_reply(), 3000000));
  EXPECT_TRUE(is_bulk(c.get_reply(), "1"));
  c.append({"MULTI"});
  c.append({"SET", "a", "1"});
  c.append({"EVAL", "return redis.call('incr', 'a')", "0"});
  c.append({"GET", "a"});
  c.append({"EXEC"});
  for (int i = 0; i < 4; ++i)
    c.get_reply();
  auto exec = c.get_reply();
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(exec->elements, 3u);
  EXPECT_EQ(std::string{exec->element[0]->str}, "OK");
  EXPECT_EQ(exec->element[1]->integer, 2);
  EXPECT_EQ(std::string{exec->element[2]->str}, "2");
}

// Redis 7 functions: a library registers them, FCALL runs them with their keys
// and arguments, FCALL_RO only those flagged no-writes.
TEST(Scripting, FunctionsLoadCallListAndDelete) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  const std::string library =
    "#!lua name=counters\n"
    "redis.register_function('bump', function(keys, args)\n"
    "  return redis.call('incrby', keys[1], args[1])\n"
    "end)\n"
    "redis.register_function{function_name='peek', callback=function(keys)\n"
    "  return redis.call('get', keys[1])\n"
    "end, flags={'no-writes'}}\n";
  EXPECT_TRUE(is_bulk(c.command({"FUNCTION", "LOAD", library}), "counters"));
  EXPECT_TRUE(is_error(c.command({"FUNCTION", "LOAD", library}),
                       "ERR Library 'counters' already exists"));
  EXPECT_TRUE(is_bulk(c.command({"FUNCTION", "LOAD", "REPLACE", library}), "counters"));
  EXPECT_TRUE(is_integer(c.command({"FCALL", "bump", "1", "n", "5"}), 5));
  EXPECT_TRUE(is_integer(c.command({"FCALL", "bump", "1", "n", "2"}), 7));
  EXPECT_TRUE(is_bulk(c.command({"FCALL_RO", "peek", "1", "n"}), "7"));
  EXPECT_TRUE(is_error(c.command({"FCALL_RO", "bump", "1", "n", "1"}),
                       "ERR Can not execute a script with write flag using *_ro command."));
  EXPECT_TRUE(is_error(c.command({"FCALL", "nothing", "0"}), "ERR Function not found"));
  EXPECT_TRUE(is_error(c.command({"FUNCTION", "LOAD", "return 1"}),
                       "ERR Missing library metadata"));
  auto list = c.command({"FUNCTION", "LIST"});
  ASSERT_EQ(list->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(list->elements, 1u);
  EXPECT_EQ(std::string{list->element[0]->element[1]->str}, "counters");
  // INFO memory counts them as Redis 7 does.
  EXPECT_EQ(info_integer(c, "number_of_libraries"), 1);
  EXPECT_EQ(info_integer(c, "number_of_functions"), 2);
  EXPECT_EQ(info_integer(c, "used_memory_functions"), static_cast<std::int64_t>(library.size()));
  EXPECT_GE(info_integer(c, "used_memory_scripts"), static_cast<std::int64_t>(library.size()));
  EXPECT_TRUE(is_status(c.command({"FUNCTION", "DELETE", "counters"}), "OK"));
  EXPECT_EQ(info_integer(c, "number_of_libraries"), 0);
  EXPECT_TRUE(is_error(c.command({"FCALL", "bump", "1", "n", "1"}), "ERR Function not found"));
  EXPECT_TRUE(is_error(c.command({"FUNCTION", "DELETE", "counters"}), "ERR Library not found"));
}

// The interpreter's memory (kept scripts included) is the node's memory: past
// maxmemory under noeviction writes are refused, and SCRIPT FLUSH gives the
// room back.
TEST(Scripting, KeptScriptsCountAgainstTheMemoryBound) {
  server_process server{{"--maxmemory=24mb", "--maxmemory-policy=noeviction"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"SET", "before", "1"}), "OK"));
  const std::string padding(8000, 'x');
  int loaded = 0;
  bool refused = false;
  while (loaded < 20000 && !refused) {
    for (int i = 0; i < 100; ++i, ++loaded)
      c.append({"SCRIPT", "LOAD",
                "return '" + std::to_string(loaded) + padding + "'"});
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(c.get_reply()->type, REDIS_REPLY_STRING);
    auto set = c.command({"SET", "probe", "v"});
    refused = set->type == REDIS_REPLY_ERROR
              && std::string{set->str}.rfind("OOM", 0) == 0;
  }
  EXPECT_TRUE(refused) << "no write refused after " << loaded << " scripts; used_memory "
                       << info_text(c, "used_memory");
  EXPECT_GE(info_integer(c, "number_of_cached_scripts"), loaded);
  EXPECT_TRUE(is_status(c.command({"SCRIPT", "FLUSH"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "probe", "v"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "before"}), "1"));
}
