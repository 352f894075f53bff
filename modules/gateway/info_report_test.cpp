#include "modules/gateway/info_report.hpp"

#include "modules/commands/command_table.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace stairkv;
using namespace stairkv::gateway;

namespace {

struct InfoReport : ::testing::Test {
  InfoReport() {
    facts.version = "test";
    facts.shard_placement = "io";
    facts.tcp_port = 7000;
    facts.started_at_ms = 1000;
    auto engine = std::make_shared<engine::layout>();
    engine->stairs = 3;
    engine->generation = 4;
    engine->shards.resize(7);
    routing.entry = engine;
    routing.status.generation = 4;
    routing.status.resizes_up = 3;
    routing.status.keys_migrated = 1234;
    in.facts = &facts;
    in.routing = &routing;
    in.now_ms = 61000;
    in.clients.connected = 3;
    in.keyspace.keys = 10;
    in.keyspace.keys_with_deadline = 4;
    in.keyspace.hits = 5;
    in.keyspace.misses = 6;
    in.keyspace.stale = 1;
    // Database 0 holds 10 keys, 4 with a deadline; the shards' database 3 holds
    // 2 more, and SWAPDB has made it number 5.
    shard::database_keys db0;
    db0.keys = 10;
    db0.keys_with_deadline = 4;
    db0.deadline_sum = 4 * 61000;
    shard::database_keys db3;
    db3.db = 3;
    db3.keys = 2;
    db3.keys_with_deadline = 1;
    db3.deadline_sum = 61000 + 5000;
    in.keyspace.databases = {db0, db3};
    databases.swap(3, 5);
    in.databases = &databases;
    in.clients.maxclients = 77;
    in.clients.pubsub_channels = 2;
    in.clients.pubsub_patterns = 1;
  }

  std::string render(std::string_view section) {
    std::string out;
    render_info(out, section, in);
    return out;
  }

  server_facts facts;
  engine::routing routing;
  engine::database_map databases;
  info_inputs in;
};

} // namespace

TEST_F(InfoReport, DefaultHasEverySectionInRedisOrder) {
  auto text = render("");
  auto server = text.find("# Server\r\n");
  auto clients = text.find("# Clients\r\n");
  auto memory = text.find("# Memory\r\n");
  auto stats = text.find("# Stats\r\n");
  auto keyspace = text.find("# Keyspace\r\n");
  auto engine = text.find("# Engine\r\n");
  ASSERT_NE(engine, std::string::npos);
  EXPECT_LT(server, clients);
  EXPECT_LT(clients, memory);
  EXPECT_LT(memory, stats);
  EXPECT_LT(stats, keyspace);
  EXPECT_LT(keyspace, engine);
}

TEST_F(InfoReport, FieldsCarryTheFigures) {
  auto text = render("all");
  EXPECT_NE(text.find("tcp_port:7000\r\n"), std::string::npos);
  EXPECT_NE(text.find("uptime_in_seconds:60\r\n"), std::string::npos);
  EXPECT_NE(text.find("connected_clients:3\r\n"), std::string::npos);
  EXPECT_NE(text.find("keyspace_hits:5\r\n"), std::string::npos);
  EXPECT_NE(text.find("keyspace_misses:6\r\n"), std::string::npos);
  EXPECT_NE(text.find("db0:keys=10,expires=4,avg_ttl=0\r\n"
                      "db5:keys=2,expires=1,avg_ttl=5000\r\n"),
            std::string::npos);
  EXPECT_EQ(text.find("db3:"), std::string::npos);
  EXPECT_NE(text.find("engine_stairs:3\r\nengine_shards:7\r\n"), std::string::npos);
  EXPECT_NE(text.find("engine_migrating:0\r\n"), std::string::npos);
  EXPECT_NE(text.find("engine_generation:4\r\n"), std::string::npos);
  EXPECT_NE(text.find("engine_keys_migrated:1234\r\n"), std::string::npos);
  EXPECT_NE(text.find("engine_resizes_up:3\r\n"), std::string::npos);
  EXPECT_NE(text.find("engine_resizes_down:0\r\n"), std::string::npos);
  EXPECT_NE(text.find("used_memory:"), std::string::npos);
  EXPECT_NE(text.find("maxclients:77\r\n"), std::string::npos);
  EXPECT_NE(text.find("expired_stale_perc:25.00\r\n"), std::string::npos);
  EXPECT_NE(text.find("pubsub_channels:2\r\npubsub_patterns:1\r\n"), std::string::npos);
}

TEST_F(InfoReport, NamedSectionsOnlyCaseInsensitive) {
  auto text = render("KeySpace engine");
  EXPECT_EQ(text.find("# Server"), std::string::npos);
  EXPECT_NE(text.find("# Keyspace\r\n"), std::string::npos);
  EXPECT_NE(text.find("# Engine\r\n"), std::string::npos);
  EXPECT_EQ(render("nosuchsection"), "");
}

TEST_F(InfoReport, EmptyKeyspaceListsNoDatabase) {
  in.keyspace.keys = 0;
  in.keyspace.databases.clear();
  EXPECT_EQ(render("keyspace"), "# Keyspace\r\n");
}

TEST_F(InfoReport, SelectorsAddSectionsOnceAndCommandstatsOnlyWhenAsked) {
  in.clients.calls.assign(stairkv::commands::all_commands().size(), 0);
  in.clients.rejected_calls.assign(in.clients.calls.size(), 0);
  in.clients.calls[0] = 4;
  auto plain = render("");
  EXPECT_NE(plain.find("# CPU\r\nused_cpu_sys:"), std::string::npos);
  EXPECT_NE(plain.find("# Replication\r\nrole:master\r\n"), std::string::npos);
  EXPECT_EQ(plain.find("# Commandstats"), std::string::npos);
  EXPECT_EQ(render("default").find("# Commandstats"), std::string::npos);
  auto both = render("cpu all");
  EXPECT_EQ(both.find("# CPU"), both.rfind("# CPU"));
  std::string line = "cmdstat_" + std::string{stairkv::commands::all_commands()[0].name}
                     + ":calls=4,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n";
  EXPECT_NE(both.find(line), std::string::npos) << both;
  auto stats = render("commandSTATS");
  EXPECT_EQ(stats.rfind("# Commandstats\r\n", 0), 0u);
  EXPECT_EQ(stats.find("used_memory"), std::string::npos);
}
