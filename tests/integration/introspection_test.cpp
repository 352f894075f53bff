// What operators read through the real node: SLOWLOG, and INFO commandstats and
// errorstats in Redis 7's format.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <unistd.h>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;

namespace {

// The arguments of slow log entry `e` (an array of 6).
std::vector<std::string> args_of(const redisReply* e) {
  std::vector<std::string> out;
  const auto* args = e->element[3];
  for (std::size_t i = 0; i < args->elements; ++i)
    out.emplace_back(args->element[i]->str, args->element[i]->len);
  return out;
}

// The `cmdstat_<name>` line of INFO commandstats (without the prefix), or "".
std::string cmdstat(hiredis_connection& c, const std::string& name) {
  auto text = text_of(c.command({"INFO", "commandstats"}));
  auto key = "cmdstat_" + name + ":";
  auto at = text.find(key);
  if (at == std::string::npos)
    return "";
  auto end = text.find("\r\n", at);
  return text.substr(at + key.size(), end - at - key.size());
}

// One field (calls, usec, ...) of a cmdstat line.
long long cmdstat_field(const std::string& line, const std::string& field) {
  auto at = line.find(field + "=");
  if (at == std::string::npos)
    return -1;
  return std::stoll(line.substr(at + field.size() + 1));
}

TEST(Introspection, SlowlogLogsEveryCommandAtThresholdZeroNewestFirstAndBounded) {
  server_process server{{"--slowlog-log-slower-than=0", "--slowlog-max-len=10"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"CLIENT", "SETNAME", "watcher"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SLOWLOG", "RESET"}), "OK"));
  for (int i = 0; i < 30; ++i)
    EXPECT_TRUE(is_status(c.command({"SET", "k" + std::to_string(i), "v"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"SLOWLOG", "LEN"}), 10));
  // Newest first: the LEN just asked (logged once it has run, as in Redis),
  // then the last SET.
  auto all = c.command({"SLOWLOG", "GET", "-1"});
  ASSERT_EQ(all->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(all->elements, 10u);
  EXPECT_EQ(args_of(all->element[0]), (std::vector<std::string>{"SLOWLOG", "LEN"}));
  const auto* newest = all->element[1];
  ASSERT_EQ(newest->elements, 6u);
  EXPECT_EQ(args_of(newest), (std::vector<std::string>{"SET", "k29", "v"}));
  EXPECT_GT(newest->element[0]->integer, all->element[2]->element[0]->integer); // ids
  EXPECT_GE(newest->element[2]->integer, 0);                                    // micros
  EXPECT_NE(std::string(newest->element[4]->str).find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(std::string(newest->element[5]->str), "watcher");
  auto five = c.command({"SLOWLOG", "GET", "5"});
  EXPECT_EQ(five->elements, 5u);
  EXPECT_EQ(c.command({"SLOWLOG", "GET"})->elements, 10u);
  EXPECT_TRUE(is_error(c.command({"SLOWLOG", "GET", "-2"}),
                       "ERR count should be greater than or equal to -1"));
  EXPECT_TRUE(is_error(c.command({"SLOWLOG", "NOPE"}),
                       "ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP."));
  EXPECT_EQ(c.command({"SLOWLOG", "HELP"})->type, REDIS_REPLY_ARRAY);
}

TEST(Introspection, SlowlogTrimsLongArgumentsAndRedactsPasswords) {
  server_process server{{"--slowlog-log-slower-than=0"}};
  hiredis_connection c{server.port()};
  std::vector<std::string> many{"MSET"};
  for (int i = 0; i < 20; ++i) {
    many.push_back("key" + std::to_string(i));
    many.push_back("value");
  }
  EXPECT_TRUE(is_status(c.command(many), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "big", std::string(129, 'A')}), "OK"));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "requirepass", "sesame"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"AUTH", "sesame"}), "OK"));
  auto log = c.command({"SLOWLOG", "GET", "4"});
  ASSERT_EQ(log->elements, 4u);
  EXPECT_EQ(args_of(log->element[0]), (std::vector<std::string>{"AUTH", "(redacted)"}));
  EXPECT_EQ(args_of(log->element[1]),
            (std::vector<std::string>{"CONFIG", "SET", "requirepass", "(redacted)"}));
  EXPECT_EQ(args_of(log->element[2]),
            (std::vector<std::string>{"SET", "big",
                                      std::string(128, 'A') + "... (1 more bytes)"}));
  auto trimmed = args_of(log->element[3]);
  ASSERT_EQ(trimmed.size(), 32u);
  EXPECT_EQ(trimmed[30], "value");
  EXPECT_EQ(trimmed[31], "... (10 more arguments)");
}

TEST(Introspection, SlowlogKeepsOnlyCommandsAsSlowAsTheThresholdAndCanBeOff) {
  server_process server{{"--slowlog-log-slower-than=1000000"}};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 100; ++i)
    c.command({"PING"});
  EXPECT_TRUE(is_integer(c.command({"SLOWLOG", "LEN"}), 0));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}), "OK"));
  c.command({"PING"});
  EXPECT_TRUE(is_integer(c.command({"SLOWLOG", "LEN"}), 0));
  auto got = c.command({"CONFIG", "GET", "slowlog-*"});
  ASSERT_EQ(got->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(got->elements, 4u);
  EXPECT_EQ(std::string(got->element[0]->str), "slowlog-log-slower-than");
  EXPECT_EQ(std::string(got->element[1]->str), "-1");
  EXPECT_EQ(std::string(got->element[3]->str), "128");
}

TEST(Introspection, CommandstatsCountCallsTimeRejectedAndFailedCallsAsRedis) {
  server_process server{{}};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 100; ++i)
    c.append({"SET", "k" + std::to_string(i), "v"});
  for (int i = 0; i < 100; ++i)
    c.get_reply();
  EXPECT_TRUE(is_error_starting_with(c.command({"INCR", "k1"}), "ERR value is not"));
  EXPECT_TRUE(is_error_starting_with(c.command({"GET"}), "ERR wrong number"));
  EXPECT_TRUE(is_error_starting_with(c.command({"NOSUCH"}), "ERR unknown command"));
  auto set = cmdstat(c, "set");
  EXPECT_EQ(cmdstat_field(set, "calls"), 100) << set;
  EXPECT_GE(cmdstat_field(set, "usec"), 0) << set;
  EXPECT_NE(set.find(",usec_per_call="), std::string::npos) << set;
  EXPECT_EQ(cmdstat_field(set, "rejected_calls"), 0) << set;
  EXPECT_EQ(cmdstat_field(set, "failed_calls"), 0) << set;
  auto incr = cmdstat(c, "incr");
  EXPECT_EQ(cmdstat_field(incr, "calls"), 1) << incr;
  EXPECT_EQ(cmdstat_field(incr, "failed_calls"), 1) << incr;
  auto get = cmdstat(c, "get");
  EXPECT_EQ(cmdstat_field(get, "calls"), 0) << get;
  EXPECT_EQ(cmdstat_field(get, "rejected_calls"), 1) << get;
  // Every error reply by kind: the INCR, the arity error, the unknown command.
  auto errors = text_of(c.command({"INFO", "errorstats"}));
  EXPECT_NE(errors.find("# Errorstats\r\nerrorstat_ERR:count=3\r\n"), std::string::npos)
    << errors;
  EXPECT_TRUE(is_status(c.command({"CONFIG", "RESETSTAT"}), "OK"));
  EXPECT_EQ(cmdstat(c, "set"), "");
  EXPECT_EQ(text_of(c.command({"INFO", "errorstats"})), "# Errorstats\r\n");
}

TEST(Introspection, ATimeConsumingCommandShowsInItsUsec) {
  server_process server{{"--slowlog-log-slower-than=0"}};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 20000; ++i)
    c.append({"SET", "key:" + std::to_string(i), "v"});
  for (int i = 0; i < 20000; ++i)
    c.get_reply();
  // KEYS walks every key of every shard: far slower than a GET.
  auto keys = c.command({"KEYS", "nomatch*"});
  EXPECT_EQ(keys->elements, 0u);
  auto newest = c.command({"SLOWLOG", "GET", "1"});
  ASSERT_EQ(newest->elements, 1u);
  EXPECT_EQ(args_of(newest->element[0]), (std::vector<std::string>{"KEYS", "nomatch*"}));
  // The slow log and commandstats tell the same time for that one call.
  auto line = cmdstat(c, "keys");
  EXPECT_EQ(cmdstat_field(line, "calls"), 1) << line;
  EXPECT_GT(cmdstat_field(line, "usec"), 0) << line;
  EXPECT_EQ(newest->element[0]->element[2]->integer, cmdstat_field(line, "usec"));
}

TEST(Introspection, LatencystatsReportThePercentilesAskedForPerCommand) {
  server_process server{{}};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 200; ++i)
    c.append({"SET", "k" + std::to_string(i), "v"});
  for (int i = 0; i < 200; ++i)
    c.get_reply();
  auto line_of = [&](const std::string& name) {
    auto text = text_of(c.command({"INFO", "latencystats"}));
    auto key = "latency_percentiles_usec_" + name + ":";
    auto at = text.find(key);
    return at == std::string::npos
             ? std::string{}
             : text.substr(at + key.size(), text.find("\r\n", at) - at - key.size());
  };
  auto set = line_of("set");
  // Microseconds with three decimals, as Redis 7 prints them.
  ASSERT_TRUE(std::regex_match(
    set, std::regex{R"(p50=[0-9]+\.[0-9]{3},p99=[0-9]+\.[0-9]{3},p99\.9=[0-9]+\.[0-9]{3})"}))
    << set;
  auto p50 = std::stod(set.substr(4));
  auto p999 = std::stod(set.substr(set.find(",p99.9=") + 7));
  EXPECT_GE(p999, p50) << set;
  EXPECT_TRUE(is_status(
    c.command({"CONFIG", "SET", "latency-tracking-info-percentiles", "50 90"}), "OK"));
  set = line_of("set");
  EXPECT_EQ(set.find(",p99="), std::string::npos) << set;
  EXPECT_NE(set.find(",p90="), std::string::npos) << set;
  EXPECT_TRUE(is_error_starting_with(
    c.command({"CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"}),
    "ERR CONFIG SET failed"));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "latency-tracking", "no"}), "OK"));
  EXPECT_EQ(text_of(c.command({"INFO", "latencystats"})), "# Latencystats\r\n");
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "latency-tracking", "yes"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "RESETSTAT"}), "OK"));
  EXPECT_EQ(line_of("set"), "");
}

TEST(Introspection, InfoCountsTrafficAndSamplesTheRateOnceASecond) {
  server_process server{{}};
  hiredis_connection c{server.port()};
  auto before = info_integer(c, "total_net_input_bytes");
  const int n = 10000;
  for (int i = 0; i < n; ++i)
    c.append({"SET", "k" + std::to_string(i), "v"});
  for (int i = 0; i < n; ++i)
    c.get_reply();
  // "*3\r\n$3\r\nSET\r\n$<len>\r\nk<i>\r\n$1\r\nv\r\n": at least 30 bytes each.
  EXPECT_GE(info_integer(c, "total_net_input_bytes") - before, 30LL * n);
  EXPECT_GT(info_integer(c, "total_net_output_bytes"), 5LL * n); // +OK\r\n each
  EXPECT_GT(info_integer(c, "total_reads_processed"), 0);
  EXPECT_GT(info_integer(c, "total_writes_processed"), 0);
  // The next once-a-second sample shows them (bounded poll).
  long long best = 0;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (best < 500 && std::chrono::steady_clock::now() < give_up) {
    best = std::max(best, info_integer(c, "instantaneous_ops_per_sec"));
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  EXPECT_GE(best, 500); // 10,000 commands in the windows of a few seconds at most
  EXPECT_TRUE(is_error_starting_with(c.command({"NOSUCH"}), "ERR unknown command"));
  EXPECT_EQ(info_integer(c, "total_error_replies"), 1);
  EXPECT_EQ(info_integer(c, "cluster_enabled"), 0);
  EXPECT_TRUE(std::regex_match(info_text(c, "run_id"), std::regex{"[0-9a-f]{40}"}));
  EXPECT_GT(info_integer(c, "total_system_memory"), 0);
  EXPECT_GE(info_integer(c, "client_recent_max_input_buffer"), 0);
  EXPECT_GE(info_integer(c, "client_recent_max_output_buffer"), 0);
  EXPECT_EQ(info_integer(c, "rdb_current_bgsave_time_sec"), -1);
  EXPECT_EQ(info_integer(c, "aof_current_rewrite_time_sec"), -1);
  EXPECT_EQ(info_integer(c, "aof_last_rewrite_time_sec"), -1);
  EXPECT_FALSE(info_text(c, "used_cpu_user_main_thread").empty());
  EXPECT_TRUE(is_status(c.command({"CONFIG", "RESETSTAT"}), "OK"));
  EXPECT_EQ(info_integer(c, "total_error_replies"), 0);
}

TEST(Introspection, LatencyRecordsWhatPassesTheThresholdPerSecondAndResets) {
  server_process server{{"--enable-debug-command=yes", "--latency-monitor-threshold=0"}};
  hiredis_connection c{server.port()};
  // Off by default: nothing is recorded.
  EXPECT_TRUE(is_status(c.command({"DEBUG", "SLEEP", "0.05"}), "OK"));
  EXPECT_EQ(c.command({"LATENCY", "LATEST"})->elements, 0u);
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "latency-monitor-threshold", "40"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"DEBUG", "SLEEP", "0.01"}), "OK")); // under it
  EXPECT_EQ(c.command({"LATENCY", "LATEST"})->elements, 0u);
  EXPECT_TRUE(is_status(c.command({"DEBUG", "SLEEP", "0.06"}), "OK"));
  auto latest = c.command({"LATENCY", "LATEST"});
  ASSERT_EQ(latest->elements, 1u) << describe(latest.get());
  const auto* e = latest->element[0];
  ASSERT_EQ(e->elements, 4u);
  EXPECT_EQ(std::string{e->element[0]->str}, "command");
  EXPECT_GE(e->element[2]->integer, 60);
  EXPECT_LT(e->element[2]->integer, 1000);
  EXPECT_EQ(e->element[3]->integer, e->element[2]->integer);
  auto history = c.command({"LATENCY", "HISTORY", "command"});
  ASSERT_EQ(history->elements, 1u);
  EXPECT_EQ(history->element[0]->element[0]->integer, e->element[1]->integer);
  EXPECT_EQ(c.command({"LATENCY", "HISTORY", "nothing"})->elements, 0u);
  auto graph = text_of(c.command({"LATENCY", "GRAPH", "command"}));
  EXPECT_EQ(graph.rfind("command - high ", 0), 0u) << graph;
  EXPECT_TRUE(is_error(c.command({"LATENCY", "GRAPH", "nothing"}),
                       "ERR No samples available for event 'nothing'"));
  auto doctor = text_of(c.command({"LATENCY", "DOCTOR"}));
  EXPECT_NE(doctor.find("1. command: 1 samples"), std::string::npos) << doctor;
  EXPECT_TRUE(is_integer(c.command({"LATENCY", "RESET", "nothing"}), 0));
  EXPECT_TRUE(is_integer(c.command({"LATENCY", "RESET"}), 1));
  EXPECT_EQ(c.command({"LATENCY", "LATEST"})->elements, 0u);
  EXPECT_TRUE(is_error(c.command({"LATENCY", "HELP", "x"}),
                       "ERR wrong number of arguments for 'latency|help' command"));
}

TEST(Introspection, LatencyHistogramCountsCallsInCumulativeBuckets) {
  server_process server;
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"CONFIG", "RESETSTAT"}), "OK"));
  for (int i = 0; i < 25; ++i)
    EXPECT_TRUE(is_status(c.command({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "k"}), "v"));
  // RESP2: a flat list of name, {calls, n, histogram_usec, [usec, cumulative...]}.
  auto h = c.command({"LATENCY", "HISTOGRAM", "set", "nosuch", "get", "incr"});
  ASSERT_EQ(h->elements, 4u) << describe(h.get());
  EXPECT_EQ(std::string{h->element[0]->str}, "set");
  const auto* set = h->element[1];
  ASSERT_EQ(set->elements, 4u);
  EXPECT_EQ(std::string{set->element[0]->str}, "calls");
  EXPECT_EQ(set->element[1]->integer, 25);
  const auto* buckets = set->element[3];
  ASSERT_GT(buckets->elements, 0u);
  ASSERT_EQ(buckets->elements % 2, 0u);
  long long last_bound = 0;
  long long last_count = 0;
  for (std::size_t i = 0; i < buckets->elements; i += 2) {
    EXPECT_GT(buckets->element[i]->integer, last_bound);
    EXPECT_GT(buckets->element[i + 1]->integer, last_count); // cumulative, rising
    last_bound = buckets->element[i]->integer;
    last_count = buckets->element[i + 1]->integer;
  }
  EXPECT_EQ(last_count, 25);
  EXPECT_EQ(std::string{h->element[2]->str}, "get");
  EXPECT_EQ(h->element[3]->element[1]->integer, 1);
}

TEST(Introspection, ContainersAreCountedPerSubcommandAsRedis7) {
  server_process server;
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"CONFIG", "RESETSTAT"}), "OK"));
  c.command({"CONFIG", "GET", "maxclients"});
  c.command({"CONFIG", "GET", "timeout"});
  c.command({"CLIENT", "ID"});
  c.command({"client", "list"});
  EXPECT_TRUE(is_error_starting_with(c.command({"CLIENT", "NOSUCH"}), "ERR unknown subcommand"));
  EXPECT_EQ(cmdstat_field(cmdstat(c, "config|get"), "calls"), 2);
  EXPECT_EQ(cmdstat_field(cmdstat(c, "config|resetstat"), "calls"), 1);
  EXPECT_EQ(cmdstat_field(cmdstat(c, "client|id"), "calls"), 1);
  EXPECT_EQ(cmdstat_field(cmdstat(c, "client|list"), "calls"), 1);
  // An unknown subcommand counts under its container, as a failed call.
  EXPECT_EQ(cmdstat_field(cmdstat(c, "client"), "failed_calls"), 1);
  auto latency = text_of(c.command({"INFO", "latencystats"}));
  EXPECT_NE(latency.find("latency_percentiles_usec_config|get:p50="), std::string::npos)
    << latency;
  // LATENCY HISTOGRAM: a container's name gives its subcommands.
  auto h = c.command({"LATENCY", "HISTOGRAM", "client"});
  std::vector<std::string> names;
  for (std::size_t i = 0; i < h->elements; i += 2)
    names.emplace_back(h->element[i]->str);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"client", "client|id", "client|list"}));
  auto one = c.command({"LATENCY", "HISTOGRAM", "CLIENT|ID"});
  ASSERT_EQ(one->elements, 2u);
  EXPECT_EQ(std::string{one->element[0]->str}, "client|id");
}

TEST(Introspection, NoTouchClientsAndExistsTtlTypeLeaveIdleTimesAloneTouchDoesNot) {
  server_process server;
  hiredis_connection quiet{server.port()};
  hiredis_connection normal{server.port()};
  EXPECT_TRUE(is_status(quiet.command({"CLIENT", "NO-TOUCH", "ON"}), "OK"));
  EXPECT_NE(text_of(quiet.command({"CLIENT", "INFO"})).find("flags=T"), std::string::npos);
  EXPECT_TRUE(is_status(normal.command({"SET", "k", "v"}), "OK"));
  wait_on_node_clock(normal, 1100);
  EXPECT_TRUE(is_bulk(quiet.command({"GET", "k"}), "v"));
  EXPECT_TRUE(is_integer(normal.command({"EXISTS", "k"}), 1));
  EXPECT_TRUE(is_integer(normal.command({"TTL", "k"}), -1));
  EXPECT_TRUE(is_status(normal.command({"TYPE", "k"}), "string"));
  EXPECT_GE(integer_of(normal.command({"OBJECT", "IDLETIME", "k"})), 1);
  EXPECT_TRUE(is_integer(quiet.command({"TOUCH", "k", "missing"}), 1)); // TOUCH counts
  EXPECT_TRUE(is_integer(normal.command({"OBJECT", "IDLETIME", "k"}), 0));
  wait_on_node_clock(normal, 1100);
  EXPECT_TRUE(is_bulk(normal.command({"GET", "k"}), "v"));
  EXPECT_TRUE(is_integer(normal.command({"OBJECT", "IDLETIME", "k"}), 0));
  EXPECT_TRUE(is_error(quiet.command({"CLIENT", "NO-TOUCH", "maybe"}), "ERR syntax error"));
}

TEST(Introspection, CommandGetkeysAndListWithFilters) {
  server_process server;
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_bulk_array(c.command({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"}),
                            {std::string{"a"}, std::string{"b"}}));
  EXPECT_TRUE(is_bulk_array(c.command({"COMMAND", "GETKEYS", "memory", "usage", "k"}),
                            {std::string{"k"}}));
  EXPECT_TRUE(is_error(c.command({"COMMAND", "GETKEYS", "PING"}),
                       "ERR The command has no key arguments"));
  EXPECT_TRUE(is_error(c.command({"COMMAND", "GETKEYS", "GET"}),
                       "ERR Invalid number of arguments specified for command"));
  EXPECT_TRUE(is_error(c.command({"COMMAND", "GETKEYS", "NOSUCH", "k"}),
                       "ERR Invalid command specified"));
  auto names = [&](std::vector<std::string> argv) {
    std::vector<std::string> out;
    auto r = c.command(argv);
    for (std::size_t i = 0; i < r->elements; ++i)
      out.emplace_back(r->element[i]->str);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto all = names({"COMMAND", "LIST"});
  EXPECT_TRUE(std::binary_search(all.begin(), all.end(), "set"));
  EXPECT_TRUE(std::binary_search(all.begin(), all.end(), "client|list"));
  EXPECT_EQ(names({"COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*"}),
            (std::vector<std::string>{"config|resetstat", "config|rewrite"}));
  auto admin = names({"COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"});
  EXPECT_TRUE(std::binary_search(admin.begin(), admin.end(), "config|set"));
  EXPECT_FALSE(std::binary_search(admin.begin(), admin.end(), "get"));
  EXPECT_TRUE(names({"COMMAND", "LIST", "FILTERBY", "MODULE", "any"}).empty());
  EXPECT_TRUE(is_error_starting_with(c.command({"COMMAND", "LIST", "bad"}), "ERR syntax error"));
}

TEST(Introspection, ConfigRewriteKeepsTheFileAndRecordsWhatChanged) {
  {
    server_process plain;
    hiredis_connection c{plain.port()};
    EXPECT_TRUE(is_error(c.command({"CONFIG", "REWRITE"}),
                         "ERR The server is running without a config file"));
  }
  const char* base = std::getenv("TEST_TMPDIR");
  auto path = std::string{base != nullptr ? base : "/tmp"} + "/rewrite-"
              + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream out{path};
    out << "# written by hand\n"
        << "maxclients 50\n"
        << "\n"
        << "# the slow log\n"
        << "slowlog-max-len 64\n";
  }
  {
    server_process server{{path}};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "maxclients"}),
                              {std::string{"maxclients"}, std::string{"50"}}));
    EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "maxclients", "77", "timeout", "9"}),
                          "OK"));
    EXPECT_TRUE(is_status(c.command({"CONFIG", "REWRITE"}), "OK"));
  }
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(text.rfind("# written by hand\nmaxclients 77\n\n# the slow log\n"
                       "slowlog-max-len 64\n",
                       0),
            0u)
    << text;
  EXPECT_NE(text.find("# Generated by CONFIG REWRITE\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntimeout 9\n"), std::string::npos) << text;
  // The node starts from the rewritten file with what was set.
  server_process again{{path}};
  hiredis_connection c{again.port()};
  EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "timeout"}),
                            {std::string{"timeout"}, std::string{"9"}}));
  EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "maxclients"}),
                            {std::string{"maxclients"}, std::string{"77"}}));
  std::remove(path.c_str());
}

} // namespace
