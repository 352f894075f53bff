// LATENCY LATEST | HISTORY | RESET | GRAPH | DOCTOR | HISTOGRAM | HELP: the
// node's latency monitor (metrics/latency_monitor.hpp: events that took at
// least latency-monitor-threshold ms) and its per-command call times (the
// histograms of INFO latencystats).

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

using commands::equals_ignoring_case;
using metrics::latency_monitor;

constexpr const char* help_lines[] = {
  "LATENCY <subcommand> [<arg> ...]. Subcommands are:",
  "LATEST",
  "    For each event: its name, the Unix time and milliseconds of its latest",
  "    sample, and the most milliseconds it ever took.",
  "HISTORY <event>",
  "    The event's samples, oldest first, as (Unix time, milliseconds) pairs.",
  "RESET [<event> ...]",
  "    Forgets the named events (all without a name); answers how many.",
  "GRAPH <event>",
  "    The event's samples as a text chart.",
  "DOCTOR",
  "    A report on the events recorded, in words.",
  "HISTOGRAM [<command> ...]",
  "    Each command's calls and the cumulative distribution of their times in",
  "    microseconds, in power-of-two buckets (all commands called without a name).",
  "HELP",
  "    This text.",
};

std::int64_t now_seconds() {
  return shard::unix_now_ms() / 1000;
}

void write_latest(protocol::reply_writer& out, const latency_monitor& monitor) {
  auto events = monitor.snapshot();
  out.array(events.size());
  for (const auto& [name, s] : events) {
    out.array(4);
    out.bulk(name);
    out.integer(s.samples.empty() ? 0 : s.samples.back().unix_seconds);
    out.integer(s.samples.empty() ? 0 : s.samples.back().millis);
    out.integer(s.max_millis);
  }
}

void write_history(protocol::reply_writer& out, const latency_monitor& monitor,
                   std::string_view event) {
  auto events = monitor.snapshot();
  auto it = events.find(std::string{event});
  if (it == events.end()) {
    out.array(0);
    return;
  }
  out.array(it->second.samples.size());
  for (const auto& sample : it->second.samples) {
    out.array(2);
    out.integer(sample.unix_seconds);
    out.integer(sample.millis);
  }
}

// A chart of the samples, newest on the right: one column per sample, eight
// rows scaled from the lowest to the highest sample, then each column's age
// ("12s", "3m", "1h") written downwards.
std::string graph_of(std::string_view event, const latency_monitor::series& s) {
  std::int64_t low = s.samples.front().millis;
  std::int64_t high = low;
  for (const auto& sample : s.samples) {
    low = std::min(low, sample.millis);
    high = std::max(high, sample.millis);
  }
  std::string text;
  text.append(event).append(" - high ").append(std::to_string(high)).append(" ms, low ");
  text.append(std::to_string(low)).append(" ms (all time high ");
  text.append(std::to_string(s.max_millis)).append(" ms)\n");
  text.append(std::string(std::max<std::size_t>(s.samples.size(), 40), '-')).append("\n");
  constexpr int rows = 8;
  for (int row = rows; row >= 1; --row) {
    std::string line;
    for (const auto& sample : s.samples) {
      // A column reaches row r when its sample is in the top r/rows of the range.
      auto height = high == low
                      ? rows
                      : 1 + static_cast<int>((sample.millis - low) * (rows - 1) / (high - low));
      line.push_back(height >= row ? '#' : ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    text.append(line).append("\n");
  }
  std::vector<std::string> ages;
  std::size_t tallest = 0;
  auto now = now_seconds();
  for (const auto& sample : s.samples) {
    auto age = std::max<std::int64_t>(0, now - sample.unix_seconds);
    std::string label = age < 60     ? std::to_string(age) + "s"
                        : age < 3600 ? std::to_string(age / 60) + "m"
                                     : std::to_string(age / 3600) + "h";
    tallest = std::max(tallest, label.size());
    ages.push_back(std::move(label));
  }
  for (std::size_t row = 0; row < tallest; ++row) {
    std::string line;
    for (const auto& label : ages)
      line.push_back(row < label.size() ? label[row] : ' ');
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    text.append(line).append("\n");
  }
  return text;
}

// What each kind of event usually means here, and what to try.
const char* advice_for(const std::string& event) {
  if (event == "command" || event == "fast-command")
    return "A command ran that long in its shard (or, for CONFIG, DEBUG and the "
           "like, in the gateway). SLOWLOG GET names it; KEYS, SCAN with a large "
           "COUNT, FLUSHALL and large values are the usual causes.";
  if (event == "expire-cycle")
    return "A shard spent that long retiring keys whose deadline had come, at "
           "most 1000 per turn. Many keys sharing one deadline cause it; spread "
           "their TTLs.";
  if (event == "eviction-cycle")
    return "A shard spent that long evicting keys to stay under maxmemory. A write "
           "burst past the bound, or a lowered maxmemory, causes it.";
  if (event == "resize-step")
    return "One step of handing keys to a new engine took that long in a shard. "
           "Steps are paced by their own length; large values make them longer.";
  if (event == "aof-write" || event == "aof-fsync-always" || event == "aof-fsync")
    return "Writing or syncing the append-only file took that long. The disk is "
           "busy or slow; appendfsync everysec waits for it less than always.";
  if (event == "snapshot-write" || event == "snapshot-chunk")
    return "A snapshot chunk took that long to collect or to write. The disk is "
           "busy or slow, or values are large.";
  return "See the command that ran at the time in SLOWLOG GET.";
}

std::string doctor(const latency_monitor& monitor) {
  auto threshold = monitor.threshold_ms();
  auto events = monitor.snapshot();
  std::string text;
  if (threshold == 0 && events.empty())
    return "The latency monitor is off: CONFIG SET latency-monitor-threshold <ms> "
           "records every event that takes at least that long.\n";
  if (events.empty())
    return "No event took " + std::to_string(threshold)
           + " ms (latency-monitor-threshold) or longer since the node started or "
             "since the last LATENCY RESET.\n";
  text = "Events that took at least " + std::to_string(threshold)
         + " ms (latency-monitor-threshold):\n\n";
  int n = 0;
  for (const auto& [name, s] : events) {
    std::int64_t sum = 0;
    for (const auto& sample : s.samples)
      sum += sample.millis;
    auto mean = s.samples.empty() ? 0 : sum / static_cast<std::int64_t>(s.samples.size());
    auto first = s.samples.empty() ? 0 : s.samples.front().unix_seconds;
    auto period = s.samples.size() > 1
                    ? (s.samples.back().unix_seconds - first)
                        / static_cast<std::int64_t>(s.samples.size() - 1)
                    : 0;
    text += std::to_string(++n) + ". " + name + ": " + std::to_string(s.samples.size())
            + " samples in the last " + std::to_string(latency_monitor::history_length)
            + " that had one; mean " + std::to_string(mean) + " ms, worst "
            + std::to_string(s.max_millis) + " ms";
    if (period > 0)
      text += ", about every " + std::to_string(period) + " s";
    text += ".\n   " + std::string{advice_for(name)} + "\n";
  }
  return text;
}

// HISTOGRAM: Redis's shape, {calls, histogram_usec: {bucket: cumulative}},
// with buckets at 1024 ns * 2^k reported as whole microseconds.
void write_histogram(protocol::reply_writer& out, const latency_histogram& h) {
  out.map(2);
  out.bulk("calls");
  out.integer(static_cast<std::int64_t>(h.count()));
  out.bulk("histogram_usec");
  std::vector<std::pair<std::int64_t, std::int64_t>> points;
  auto buckets = h.nonzero_buckets();
  std::size_t next = 0;
  std::uint64_t cumulative = 0;
  std::uint64_t previous = 0;
  for (std::uint64_t level = 1024; next < buckets.size(); level *= 2) {
    while (next < buckets.size()
           && latency_histogram::bucket_highest(buckets[next].index) < level) {
      cumulative += buckets[next].count;
      ++next;
    }
    if (cumulative > previous)
      points.emplace_back(static_cast<std::int64_t>(level / 1000),
                          static_cast<std::int64_t>(cumulative));
    previous = cumulative;
    if (level > (std::uint64_t{1} << 62))
      break;
  }
  out.map(points.size());
  for (const auto& [micros, count] : points) {
    out.integer(micros);
    out.integer(count);
  }
}

void histogram_command(gateway_actor* self, protocol::reply_writer& out, const args& argv) {
  const auto& all = commands::stat_slots();
  const auto& latency = self->state.figures.latency;
  std::vector<std::size_t> chosen;
  auto wanted = [&](std::size_t i) {
    return i < latency.size() && latency[i] && !latency[i]->empty()
           && std::find(chosen.begin(), chosen.end(), i) == chosen.end();
  };
  if (argv.size() == 2) {
    for (std::size_t i = 0; i < all.size(); ++i)
      if (wanted(i))
        chosen.push_back(i);
  } else {
    // A name is a command ("set"), a container with its subcommands
    // ("client"), or one subcommand ("client|id"); unknown names are skipped.
    for (std::size_t a = 2; a < argv.size(); ++a) {
      auto slot = commands::find_stat_slot(argv[a]);
      if (!slot)
        continue;
      if (wanted(*slot))
        chosen.push_back(*slot);
      if (!all[*slot].subcommand) {
        auto [begin, end] = commands::subcommand_slots(*all[*slot].command);
        for (auto i = begin; i < end; ++i)
          if (wanted(i))
            chosen.push_back(i);
      }
    }
  }
  out.map(chosen.size());
  for (auto i : chosen) {
    out.bulk(all[i].name);
    write_histogram(out, *latency[i]);
  }
}

} // namespace

void latency_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  auto& monitor = *self->state.config.latency;
  auto sub = argv[1];
  auto n = argv.size();
  auto is = [&](const char* name) { return equals_ignoring_case(sub, name); };
  if (is("latest") && n == 2) {
    write_latest(out, monitor);
  } else if (is("history") && n == 3) {
    write_history(out, monitor, argv[2]);
  } else if (is("reset")) {
    std::vector<std::string> names(argv.begin() + 2, argv.end());
    out.integer(static_cast<std::int64_t>(monitor.reset(names)));
  } else if (is("graph") && n == 3) {
    auto events = monitor.snapshot();
    auto it = events.find(std::string{argv[2]});
    if (it == events.end() || it->second.samples.empty())
      out.error("ERR No samples available for event '" + std::string{argv[2]} + "'");
    else
      out.verbatim(graph_of(argv[2], it->second));
  } else if (is("doctor") && n == 2) {
    out.verbatim(doctor(monitor));
  } else if (is("histogram")) {
    histogram_command(self, out, argv);
  } else if (is("help") && n == 2) {
    out.help(help_lines);
  } else if (is("latest") || is("history") || is("graph") || is("doctor") || is("help")) {
    out.error(protocol::errors::wrong_arity("latency|" + commands::to_lower(sub)));
  } else {
    out.error(protocol::errors::unknown_subcommand(sub, "LATENCY"));
  }
  work.add_reply(conn.context, reply);
}

} // namespace stairkv::gateway
