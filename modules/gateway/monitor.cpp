// MONITOR: every command any client runs, shown to each monitoring client as
// Redis shows it: `+<unix seconds>.<micros> [<db> <ip:port>] "arg" "arg"...`, with
// secrets redacted and Redis's administrative commands left out. A line goes
// into the monitor's pending pushes and out with the next replies written; a
// monitor that does not read is cut off at the pubsub class's output limits.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"

namespace stairkv::gateway {

namespace {

// An argument quoted as Redis quotes it (sdscatrepr): backslash escapes for
// the quote, the backslash and \n \r \t \a \b, \xHH for other bytes that are
// not printable.
void append_quoted(std::string& out, std::string_view arg) {
  out.push_back('"');
  for (unsigned char c : arg) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '"': out.append("\\\""); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\a': out.append("\\a"); break;
      case '\b': out.append("\\b"); break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out.push_back(static_cast<char>(c));
        } else {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out.append(hex);
        }
    }
  }
  out.push_back('"');
}

} // namespace

void feed_monitors(gateway_actor* self, const connection& from, const args& argv) {
  auto& st = self->state;
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "+%lld.%06lld [%u ",
                static_cast<long long>(micros / 1000000),
                static_cast<long long>(micros % 1000000), from.db);
  std::string line{stamp};
  line.append(from.addr).append("] ");
  std::vector<std::string> shown(argv.begin(), argv.end());
  if (!shown.empty())
    redact_secrets(commands::to_lower(shown[0]), shown);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (i > 0)
      line.push_back(' ');
    append_quoted(line, shown[i]);
  }
  line.append("\r\n");
  for (auto tag : st.monitors) {
    auto it = find_client(st, tag);
    if (it == st.connections.end())
      continue;
    auto& monitor = it->second;
    if (monitor.deferred_pushes.empty() && monitor.output.empty())
      st.touched.push_back(tag);
    monitor.deferred_pushes += line;
  }
}

// MONITOR: from now on this client is shown every command.
void monitor_command(gateway_actor* self, connection& conn, const args&,
                     commands::plan& work) {
  work.add_reply(conn.context, "+OK\r\n");
  if (conn.monitoring)
    return;
  conn.monitoring = true;
  self->state.monitors.push_back(conn.context.tag);
  track_output(self, conn);
}

} // namespace stairkv::gateway
