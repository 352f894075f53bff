#include "benchmarks/report.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace stairkv::bench {

namespace {

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

double microseconds(std::uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1000.0;
}

// The first file named gnuplot in $PATH, else Debian's location.
std::string find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = std::string(dir) + "/gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return ::access("/usr/bin/gnuplot", X_OK) == 0 ? "/usr/bin/gnuplot" : "";
}

// Runs `program script` in `dir` with stdin from /dev/null and its output in
// dir/gnuplot.log; returns the exit status, or -1 if it could not be run.
int run_in(const std::string& dir, const std::string& program, const char* script) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    const int in = ::open("/dev/null", O_RDONLY);
    const int log = ::open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || log < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execl(program.c_str(), "gnuplot", script, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool is_png(const std::string& path) {
  static constexpr unsigned char signature[8] = {0x89, 'P',  'N',  'G',
                                                 '\r', '\n', 0x1a, '\n'};
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  if (!in.read(head, sizeof(head))) return false;
  for (std::size_t i = 0; i < sizeof(head); ++i) {
    if (static_cast<unsigned char>(head[i]) != signature[i]) return false;
  }
  return true;
}

std::string read_tail(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > limit) text.erase(0, text.size() - limit);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A gnuplot single-quoted string: only the quote itself needs escaping, by doubling.
std::string gnuplot_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    if (c != '\n' && c != '\r') out += c;
  }
  return out + "'";
}

}  // namespace

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof(escape), "\\u%04x", c);
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

json_object& json_object::add_rendered(std::string_view key, std::string rendered) {
  fields_.push_back({std::string(key), std::move(rendered), nullptr});
  return *this;
}

json_object& json_object::add(std::string_view key, std::string_view text) {
  return add_rendered(key, json_string(text));
}

json_object& json_object::add(std::string_view key, std::uint64_t value) {
  return add_rendered(key, std::to_string(value));
}

json_object& json_object::add(std::string_view key, std::int64_t value) {
  return add_rendered(key, std::to_string(value));
}

json_object& json_object::add(std::string_view key, double value, int decimals) {
  return add_rendered(key, std::isfinite(value) ? fixed(value, decimals) : "null");
}

json_object& json_object::add(std::string_view key, bool value) {
  return add_rendered(key, value ? "true" : "false");
}

json_object& json_object::add(std::string_view key, json_object value) {
  fields_.push_back(
      {std::string(key), {}, std::make_unique<json_object>(std::move(value))});
  return *this;
}

std::string json_object::render(int depth) const {
  if (fields_.empty()) return "{}";
  const std::string inner(static_cast<std::size_t>(depth + 1) * 2, ' ');
  std::string out = "{\n";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const field& f = fields_[i];
    out += inner + json_string(f.key) + ": ";
    out += f.object ? f.object->render(depth + 1) : f.scalar;
    out += i + 1 < fields_.size() ? ",\n" : "\n";
  }
  return out + std::string(static_cast<std::size_t>(depth) * 2, ' ') + "}";
}

void add_latency_fields(json_object& out, const histogram& latency_ns, std::uint64_t errors,
                        double seconds) {
  const std::uint64_t ops = latency_ns.count();
  out.add("ops", ops)
      .add("errors", errors)
      .add("seconds", seconds, 3)
      .add("ops_per_sec", seconds > 0 ? static_cast<double>(ops) / seconds : 0.0, 1)
      .add("p50_us", microseconds(latency_ns.percentile(50)), 1)
      .add("p90_us", microseconds(latency_ns.percentile(90)), 1)
      .add("p99_us", microseconds(latency_ns.percentile(99)), 1)
      .add("p999_us", microseconds(latency_ns.percentile(99.9)), 1)
      .add("max_us", microseconds(latency_ns.max()), 1)
      .add("mean_us", latency_ns.mean() / 1000.0, 1);
}

std::string timeline_csv(const std::vector<timeline_row>& rows) {
  std::string out = "t_ms,ops,ops_per_sec,p99_us\n";
  for (const auto& row : rows) {
    out += std::to_string(row.t_ms) + "," + std::to_string(row.ops) + "," +
           fixed(row.ops_per_sec, 1) + "," + fixed(row.p99_us, 1) + "\n";
  }
  return out;
}

std::string engine_events_csv(const std::vector<engine_event>& events) {
  std::string out = "t_ms,event,engine_generation,engine_migrating\n";
  for (const auto& e : events) {
    out += std::to_string(e.t_ms) + "," + e.what + "," +
           std::to_string(e.state.generation) + "," + std::to_string(e.state.migrating) +
           "\n";
  }
  return out;
}

std::string throughput_plot_script(std::string_view title,
                                   const std::vector<engine_event>& events,
                                   std::string_view terminal) {
  std::string s;
  s += "# Drawn by stairkv-bench; run `gnuplot throughput.gnuplot` here to redraw.\n";
  s += "set terminal " + std::string(terminal) + " size 1200,600 noenhanced\n";
  s += "set output 'throughput.png'\n";
  s += "set datafile separator ','\n";
  s += "set title " + gnuplot_quote(title) + "\n";
  s += "set xlabel 'time (s)'\n";
  s += "set ylabel 'ops/s'\n";
  s += "set y2label 'p99 latency (us)'\n";
  s += "set ytics nomirror\n";
  s += "set y2tics\n";
  s += "set yrange [0:*]\n";
  s += "set y2range [0:*]\n";
  s += "set grid\n";
  s += "set key top right\n";
  const double poll_s = static_cast<double>(engine_poll_interval.count()) / 1000.0;
  int object = 1;
  for (const auto& e : events) {
    const double t = static_cast<double>(e.t_ms) / 1000.0;
    if (e.state.migrating != 0) {
      // A migration was seen at this poll; the span covers the time until the next.
      s += "set object " + std::to_string(object++) + " rect from " + fixed(t, 3) +
           ", graph 0 to " + fixed(t + poll_s, 3) +
           ", graph 1 behind fillcolor rgb '#ffd9a0' fillstyle solid 0.6 noborder\n";
    }
    if (e.what == "generation") {
      s += "set arrow from " + fixed(t, 3) + ", graph 0 to " + fixed(t, 3) +
           ", graph 1 nohead linecolor rgb '#c00000' dashtype 2 linewidth 1.5\n";
      s += "set label 'generation " + std::to_string(e.state.generation) + "' at " +
           fixed(t, 3) + ", graph 0.97 offset 0.5,0 textcolor rgb '#c00000'\n";
    }
  }
  s += "plot 'timeline.csv' using ($1/1000.0):3 skip 1 with lines linewidth 1.5 "
       "linecolor rgb '#1f77b4' title 'ops/s', \\\n";
  s += "     '' using ($1/1000.0):4 skip 1 axes x1y2 with lines linewidth 1 "
       "linecolor rgb '#a0a0a0' title 'p99 (us)'\n";
  return s;
}

bool render_throughput_plot(const std::string& dir, std::string_view title,
                            const std::vector<engine_event>& events, std::string& problem) {
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    problem = "gnuplot not found (Debian package gnuplot-nox); throughput.png not drawn";
    return false;
  }
  const std::string script = dir + "/throughput.gnuplot";
  const std::string png = dir + "/throughput.png";
  const std::string log = dir + "/gnuplot.log";
  for (const char* terminal : {"pngcairo", "png"}) {
    write_file(script, throughput_plot_script(title, events, terminal));
    std::remove(png.c_str());
    const int status = run_in(dir, gnuplot, "throughput.gnuplot");
    if (status == 0 && is_png(png)) {
      std::remove(log.c_str());
      return true;
    }
    problem =
        "gnuplot failed (status " + std::to_string(status) + "): " + read_tail(log, 400);
  }
  return false;
}

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace stairkv::bench
