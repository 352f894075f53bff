#include "benchmarks/report.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stairkv::bench {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Json, KeepsFieldOrderAndNestsObjects) {
  json_object inner;
  inner.add("p99_us", 12.345, 1);
  json_object outer;
  outer.add("ops", std::uint64_t{42}).add("name", "a \"quoted\"\nline").add("ok", true);
  outer.add("inner", std::move(inner)).add("empty", json_object());
  EXPECT_EQ(outer.str(),
            "{\n"
            "  \"ops\": 42,\n"
            "  \"name\": \"a \\\"quoted\\\"\\nline\",\n"
            "  \"ok\": true,\n"
            "  \"inner\": {\n"
            "    \"p99_us\": 12.3\n"
            "  },\n"
            "  \"empty\": {}\n"
            "}\n");
}

TEST(Json, NonFiniteNumbersAreNull) {
  json_object o;
  o.add("x", 1.0 / 0.0, 1);
  EXPECT_TRUE(contains(o.str(), "\"x\": null"));
}

TEST(Json, LatencyFieldsInMicroseconds) {
  histogram h;
  for (int i = 0; i < 100; ++i) h.record(200'000);  // 200 us
  json_object o;
  add_latency_fields(o, h, 3, 2.0);
  const std::string text = o.str();
  for (const char* field : {"\"ops\": 100", "\"errors\": 3", "\"seconds\": 2.000",
                            "\"ops_per_sec\": 50.0", "\"max_us\": 200.0"}) {
    EXPECT_TRUE(contains(text, field)) << field << " in\n" << text;
  }
  for (const char* field :
       {"\"p50_us\": ", "\"p90_us\": ", "\"p99_us\": ", "\"p999_us\": "}) {
    EXPECT_TRUE(contains(text, std::string(field) + "200.0")) << field << " in\n" << text;
  }
}

TEST(Csv, TimelineHasAHeaderAndOneLinePerRow) {
  const std::string csv = timeline_csv({{0, 1000, 10000.0, 85.25}, {100, 0, 0.0, 0.0}});
  EXPECT_EQ(csv,
            "t_ms,ops,ops_per_sec,p99_us\n"
            "0,1000,10000.0,85.2\n"
            "100,0,0.0,0.0\n");
}

TEST(Csv, EngineEvents) {
  const std::string csv =
      engine_events_csv({{0, {1, 0}, "start"}, {3000, {2, 1}, "generation"}});
  EXPECT_EQ(csv,
            "t_ms,event,engine_generation,engine_migrating\n"
            "0,start,1,0\n"
            "3000,generation,2,1\n");
}

TEST(Plot, MarksGenerationChangesAndShadesMigrations) {
  const std::string script = throughput_plot_script(
      "it's a title",
      {{0, {1, 0}, "start"}, {2000, {1, 1}, "migrating"}, {3000, {2, 0}, "generation"}},
      "pngcairo");
  EXPECT_TRUE(contains(script, "set terminal pngcairo")) << script;
  EXPECT_TRUE(contains(script, "set title 'it''s a title'")) << script;
  EXPECT_TRUE(contains(script, "set object 1 rect from 2.000, graph 0 to 3.000")) << script;
  EXPECT_TRUE(contains(script, "set arrow from 3.000, graph 0 to 3.000, graph 1"))
      << script;
  EXPECT_TRUE(contains(script, "'generation 2'")) << script;
  EXPECT_TRUE(contains(script, "plot 'timeline.csv'")) << script;
}

TEST(Plot, NoEventsNoMarks) {
  const std::string script = throughput_plot_script("t", {}, "png");
  EXPECT_FALSE(contains(script, "set object"));
  EXPECT_FALSE(contains(script, "set arrow"));
}

}  // namespace
}  // namespace stairkv::bench
