#include "benchmarks/engine_monitor.hpp"

#include <gtest/gtest.h>

namespace stairkv::bench {
namespace {

TEST(EngineInfo, ReadsGenerationAndMigrating) {
  const auto state = parse_engine_info(
      "# Engine\r\nengine_generation:4\r\nengine_stairs:3\r\nengine_migrating:1\r\n"
      "engine_keys_migrated:1200\r\n");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->generation, 4);
  EXPECT_EQ(state->migrating, 1);
}

TEST(EngineInfo, AServerWithoutAnEngineSectionHasNoState) {
  EXPECT_FALSE(parse_engine_info("").has_value());
  EXPECT_FALSE(parse_engine_info("# Server\r\nredis_version:7.0.15\r\n").has_value());
}

TEST(EngineInfo, FieldsMatchWholeNamesOnly) {
  EXPECT_EQ(
      info_integer("engine_generation_x:9\nengine_generation:2\n", "engine_generation"), 2);
  EXPECT_EQ(info_integer("used_memory:1024\r\nused_memory_rss:4096\r\n", "used_memory_rss"),
            4096);
  EXPECT_FALSE(info_integer("used_memory:lots\r\n", "used_memory").has_value());
}

TEST(EngineEvents, RecordsTheStartGenerationChangesAndMigrations) {
  engine_events events;
  events.observe(0, {1, 0});
  events.observe(1000, {1, 0});  // nothing new
  events.observe(2000, {1, 1});  // migrating
  events.observe(3000, {2, 1});  // the new generation took effect, still migrating
  events.observe(4000, {2, 0});  // settled
  events.observe(5000, {2, 0});
  const auto& e = events.events();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].what, "start");
  EXPECT_EQ(e[0].t_ms, 0);
  EXPECT_EQ(e[1].what, "migrating");
  EXPECT_EQ(e[1].t_ms, 2000);
  EXPECT_EQ(e[2].what, "generation");
  EXPECT_EQ(e[2].state.generation, 2);
  EXPECT_EQ(e[2].state.migrating, 1);
  EXPECT_EQ(e[3].what, "settled");
  EXPECT_EQ(e[3].t_ms, 4000);
}

}  // namespace
}  // namespace stairkv::bench
