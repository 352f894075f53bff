#include "modules/node/log.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

namespace stairkv::node {

namespace {

std::atomic<log_level> threshold{log_level::notice};

char mark(log_level level) {
  switch (level) {
    case log_level::debug:
      return '.';
    case log_level::verbose:
      return '-';
    case log_level::notice:
      return '*';
    case log_level::warning:
      return '#';
  }
  return '*';
}

} // namespace

void set_log_level(log_level level) {
  threshold = level;
}

bool parse_log_level(std::string_view text, log_level& out) {
  if (text == "debug")
    out = log_level::debug;
  else if (text == "verbose")
    out = log_level::verbose;
  else if (text == "notice")
    out = log_level::notice;
  else if (text == "warning")
    out = log_level::warning;
  else
    return false;
  return true;
}

void log(log_level level, std::string_view message) {
  if (level < threshold.load())
    return;
  timeval now{};
  gettimeofday(&now, nullptr);
  tm local{};
  localtime_r(&now.tv_sec, &local);
  char stamp[64];
  auto n = std::strftime(stamp, sizeof(stamp), "%d %b %Y %H:%M:%S", &local);
  std::string line;
  line.reserve(message.size() + 64);
  line += std::to_string(getpid());
  line += ":M ";
  line.append(stamp, n);
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03d ", static_cast<int>(now.tv_usec / 1000));
  line += millis;
  line += mark(level);
  line += ' ';
  line.append(message);
  line += '\n';
  // One write per line keeps lines whole when several threads log.
  auto written = ::write(STDERR_FILENO, line.data(), line.size());
  (void) written;
}

} // namespace stairkv::node
