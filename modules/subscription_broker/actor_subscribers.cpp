#include "modules/subscription_broker/actor_subscribers.hpp"

#include <limits>

namespace stairkv::subscription_broker {

namespace {

bool take_prefix(std::string_view& text, std::string_view prefix) {
  if (text.substr(0, prefix.size()) != prefix)
    return false;
  text.remove_prefix(prefix.size());
  return true;
}

// "<digits>__:" at the start of `text`; databases are numbered 0..255, but any
// number that fits is read, so that the decoding does not depend on the setting.
bool take_database(std::string_view& text, std::int32_t& db) {
  std::int64_t n = 0;
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    n = n * 10 + (text[digits] - '0');
    if (n > std::numeric_limits<std::int32_t>::max())
      return false;
    ++digits;
  }
  if (digits == 0)
    return false;
  text.remove_prefix(digits);
  if (!take_prefix(text, "__:"))
    return false;
  db = static_cast<std::int32_t>(n);
  return true;
}

} // namespace

bool decode_key_event(std::string_view channel, std::string_view message, key_event& out) {
  bool keyspace = take_prefix(channel, "__keyspace@");
  if (!keyspace && !take_prefix(channel, "__keyevent@"))
    return false;
  if (!take_database(channel, out.db))
    return false;
  if (keyspace) {
    out.key.assign(channel.data(), channel.size());
    out.event.assign(message.data(), message.size());
  } else {
    out.key.assign(message.data(), message.size());
    out.event.assign(channel.data(), channel.size());
  }
  return true;
}

} // namespace stairkv::subscription_broker
