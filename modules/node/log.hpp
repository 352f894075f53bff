#pragma once

// The node's log: one line per event on stderr, in Redis's layout
// (`pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`).

#include <string_view>

namespace stairkv::node {

enum class log_level { debug, verbose, notice, warning };

void set_log_level(log_level level);
bool parse_log_level(std::string_view text, log_level& out);

void log(log_level level, std::string_view message);

inline void log_notice(std::string_view message) {
  log(log_level::notice, message);
}

inline void log_warning(std::string_view message) {
  log(log_level::warning, message);
}

} // namespace stairkv::node
