#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "benchmarks/engine_monitor.hpp"
#include "benchmarks/histogram.hpp"
#include "benchmarks/timeline.hpp"

// The files a run leaves behind: JSON summaries, CSV series and the throughput plot.
namespace stairkv::bench {

// A JSON object whose fields keep the order they were added in, pretty-printed with
// two spaces per level, "key": value. Enough for flat result files; no parsing.
class json_object {
 public:
  json_object() = default;
  json_object(json_object&&) = default;
  json_object& operator=(json_object&&) = default;

  json_object& add(std::string_view key, std::string_view text);
  json_object& add(std::string_view key, const char* text) {
    return add(key, std::string_view(text));
  }
  json_object& add(std::string_view key, std::uint64_t value);
  json_object& add(std::string_view key, std::int64_t value);
  json_object& add(std::string_view key, int value) {
    return add(key, static_cast<std::int64_t>(value));
  }
  json_object& add(std::string_view key, unsigned value) {
    return add(key, static_cast<std::uint64_t>(value));
  }
  // A fixed number of decimals; null when not finite.
  json_object& add(std::string_view key, double value, int decimals);
  json_object& add(std::string_view key, bool value);
  json_object& add(std::string_view key, json_object value);

  std::string str() const { return render(0) + "\n"; }

 private:
  struct field {
    std::string key;
    std::string scalar;                   // already rendered, when not an object
    std::unique_ptr<json_object> object;  // when an object
  };

  json_object& add_rendered(std::string_view key, std::string rendered);
  std::string render(int depth) const;

  std::vector<field> fields_;
};

// "text" with JSON escapes.
std::string json_string(std::string_view text);

// ops, errors, seconds, ops_per_sec and latency percentiles in microseconds (p50_us,
// p90_us, p99_us, p999_us, max_us, mean_us) for one set of replies.
void add_latency_fields(json_object& out, const histogram& latency_ns, std::uint64_t errors,
                        double seconds);

// t_ms,ops,ops_per_sec,p99_us
std::string timeline_csv(const std::vector<timeline_row>& rows);

// t_ms,event,engine_generation,engine_migrating
std::string engine_events_csv(const std::vector<engine_event>& events);

// The gnuplot script that draws ops/s (and p99 on a second axis) from timeline.csv
// into throughput.png, both in the directory it runs in, with a vertical line at every
// generation change and a shaded span for every observation during a migration.
std::string throughput_plot_script(std::string_view title,
                                   const std::vector<engine_event>& events,
                                   std::string_view terminal);

// Writes throughput.gnuplot into `dir` and runs gnuplot there, with the pngcairo
// terminal and, should that fail, the plain png one. False with `problem` set when
// gnuplot is missing or fails; the plot is optional, everything else stands.
bool render_throughput_plot(const std::string& dir, std::string_view title,
                            const std::vector<engine_event>& events, std::string& problem);

// Writes `content` to `path`; throws std::runtime_error naming the file on failure.
void write_file(const std::string& path, std::string_view content);

}  // namespace stairkv::bench
