#include "modules/shard/key_events.hpp"

#include <algorithm>

namespace stairkv::shard {

std::string_view event_name(key_event e) noexcept {
  switch (e) {
    case key_event::new_key:
      return "new";
    case key_event::set:
      return "set";
    case key_event::del:
      return "del";
    case key_event::expire:
      return "expire";
    case key_event::persist:
      return "persist";
    case key_event::incrby:
      return "incrby";
    case key_event::append:
      return "append";
    case key_event::setrange:
      return "setrange";
    case key_event::incrbyfloat:
      return "incrbyfloat";
    case key_event::expired:
      return "expired";
    case key_event::evicted:
      return "evicted";
    case key_event::keymiss:
      return "keymiss";
    case key_event::rename_from:
      return "rename_from";
    case key_event::rename_to:
      return "rename_to";
    case key_event::move_from:
      return "move_from";
    case key_event::move_to:
      return "move_to";
    case key_event::hset:
      return "hset";
    case key_event::hdel:
      return "hdel";
    case key_event::hincrby:
      return "hincrby";
    case key_event::hincrbyfloat:
      return "hincrbyfloat";
    case key_event::sadd:
      return "sadd";
    case key_event::srem:
      return "srem";
    case key_event::spop:
      return "spop";
    case key_event::sinterstore:
      return "sinterstore";
    case key_event::sunionstore:
      return "sunionstore";
    case key_event::sdiffstore:
      return "sdiffstore";
    case key_event::lpush:
      return "lpush";
    case key_event::rpush:
      return "rpush";
    case key_event::lpop:
      return "lpop";
    case key_event::rpop:
      return "rpop";
    case key_event::linsert:
      return "linsert";
    case key_event::lset:
      return "lset";
    case key_event::lrem:
      return "lrem";
    case key_event::ltrim:
      return "ltrim";
    case key_event::zadd:
      return "zadd";
    case key_event::zincr:
      return "zincr";
    case key_event::zrem:
      return "zrem";
    case key_event::zremrangebyrank:
      return "zremrangebyrank";
    case key_event::zremrangebyscore:
      return "zremrangebyscore";
    case key_event::zremrangebylex:
      return "zremrangebylex";
    case key_event::zpopmin:
      return "zpopmin";
    case key_event::zpopmax:
      return "zpopmax";
    case key_event::zunionstore:
      return "zunionstore";
    case key_event::zinterstore:
      return "zinterstore";
    case key_event::zdiffstore:
      return "zdiffstore";
    case key_event::zrangestore:
      return "zrangestore";
    case key_event::sortstore:
      return "sortstore";
  }
  return "unknown";
}

std::uint32_t class_of(key_event e) noexcept {
  switch (e) {
    case key_event::new_key:
      return notify_flag::new_key;
    case key_event::set:
    case key_event::incrby:
    case key_event::append:
    case key_event::setrange:
    case key_event::incrbyfloat:
      return notify_flag::string;
    case key_event::del:
    case key_event::expire:
    case key_event::persist:
    case key_event::rename_from:
    case key_event::rename_to:
    case key_event::move_from:
    case key_event::move_to:
      return notify_flag::generic;
    case key_event::expired:
      return notify_flag::expired;
    case key_event::evicted:
      return notify_flag::evicted;
    case key_event::keymiss:
      return notify_flag::key_miss;
    case key_event::hset:
    case key_event::hdel:
    case key_event::hincrby:
    case key_event::hincrbyfloat:
      return notify_flag::hash;
    case key_event::sadd:
    case key_event::srem:
    case key_event::spop:
    case key_event::sinterstore:
    case key_event::sunionstore:
    case key_event::sdiffstore:
      return notify_flag::set;
    case key_event::lpush:
    case key_event::rpush:
    case key_event::lpop:
    case key_event::rpop:
    case key_event::linsert:
    case key_event::lset:
    case key_event::lrem:
    case key_event::ltrim:
    case key_event::sortstore:
      return notify_flag::list;
    case key_event::zadd:
    case key_event::zincr:
    case key_event::zrem:
    case key_event::zremrangebyrank:
    case key_event::zremrangebyscore:
    case key_event::zremrangebylex:
    case key_event::zpopmin:
    case key_event::zpopmax:
    case key_event::zunionstore:
    case key_event::zinterstore:
    case key_event::zdiffstore:
    case key_event::zrangestore:
      return notify_flag::zset;
  }
  return 0;
}

namespace {

struct letter {
  char ch;
  std::uint32_t flag;
};

// Every letter but A, in the order Redis prints them.
constexpr letter letters[] = {
  {'g', notify_flag::generic},  {'$', notify_flag::string},
  {'l', notify_flag::list},     {'s', notify_flag::set},
  {'h', notify_flag::hash},     {'z', notify_flag::zset},
  {'x', notify_flag::expired},  {'e', notify_flag::evicted},
  {'t', notify_flag::stream},   {'d', notify_flag::module},
  {'n', notify_flag::new_key},  {'K', notify_flag::keyspace},
  {'E', notify_flag::keyevent}, {'m', notify_flag::key_miss},
};

} // namespace

bool parse_notify_flags(std::string_view text, std::uint32_t& flags) {
  std::uint32_t result = 0;
  for (char ch : text) {
    if (ch == 'A') {
      result |= notify_flag::all;
      continue;
    }
    bool known = false;
    for (const auto& l : letters) {
      if (l.ch == ch) {
        result |= l.flag;
        known = true;
        break;
      }
    }
    if (!known)
      return false;
  }
  flags = result;
  return true;
}

std::string notify_flags_to_string(std::uint32_t flags) {
  std::string out;
  bool all = (flags & notify_flag::all) == notify_flag::all;
  if (all)
    out += 'A';
  for (const auto& l : letters) {
    if (all && (l.flag & notify_flag::all) != 0)
      continue;
    if (flags & l.flag)
      out += l.ch;
  }
  return out;
}

key_event_log merge_in_plan_order(const std::vector<key_event_log>& shares) {
  struct at {
    std::uint32_t position;
    std::uint32_t share;
    std::uint32_t index;
  };
  std::vector<at> order;
  for (std::size_t s = 0; s < shares.size(); ++s)
    for (std::size_t i = 0; i < shares[s].entries.size(); ++i)
      order.push_back(at{shares[s].entries[i].position, static_cast<std::uint32_t>(s),
                         static_cast<std::uint32_t>(i)});
  // Stable: a share's events of one operation keep the order they happened in.
  std::stable_sort(order.begin(), order.end(),
                   [](const at& a, const at& b) { return a.position < b.position; });
  key_event_log out;
  for (const auto& a : order) {
    const auto& share = shares[a.share];
    const auto& e = share.entries[a.index];
    out.add(e.what, share.key(e), e.position);
  }
  return out;
}

} // namespace stairkv::shard
