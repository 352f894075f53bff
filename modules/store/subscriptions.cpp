#include "modules/store/subscriptions.hpp"

namespace stairkv {

namespace {

std::string notification_channel(std::string_view kind, std::int32_t db,
                                 std::string_view rest) {
  std::string channel{kind};
  channel += '@';
  channel += std::to_string(db);
  channel += "__:";
  channel.append(rest.data(), rest.size());
  return channel;
}

} // namespace

std::string keyevent_channel(std::int32_t db, std::string_view event) {
  return notification_channel("__keyevent", db, event);
}

std::string keyspace_channel(std::int32_t db, std::string_view key) {
  return notification_channel("__keyspace", db, key);
}

} // namespace stairkv
