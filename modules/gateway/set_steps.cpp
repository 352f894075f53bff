// The set commands over several keys, which may live on different shards:
// SINTER, SUNION, SDIFF and their STORE forms, SINTERCARD, SMOVE. Each runs
// as steps (steps.hpp): one plan reads every source whole (a peek per key:
// its members in the compact form, values/compact_set.hpp, and its type), the
// gateway combines them, and a second plan writes the result (STORE, SMOVE).
// The command holds its keys meanwhile, as RENAME does, so no other client's
// command on them comes between its steps: it is one step for everyone.

#include <algorithm>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/key_events.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::gateway {

namespace {

enum class algebra { inter, uni, diff };

constexpr std::uint8_t set_type = 2; // shard::value_type::set

// The sources' members as read by one plan: each key's serialised set (empty
// for a missing key), or the error to answer (a key of another type).
struct read_sets {
  std::vector<std::string> bytes;
  std::string error;
};

// The first step of each: every source read whole (a peek per key).
void peek_all(commands::plan& p, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    auto& peek = p.open(hidden_client(), commands::plan::merge::single);
    p.route(peek, shard::op_code::peek, key);
  }
}

read_sets sources_of(commands::plan& p, std::size_t first, std::size_t count) {
  read_sets out;
  for (std::size_t i = 0; i < count; ++i) {
    auto part = p.part_of(first + i);
    const auto* peeked = part.share();
    if (peeked == nullptr) {
      out.error = std::string{part.bytes()};
      return out;
    }
    if (peeked->found && peeked->type != set_type) {
      out.error = protocol::errors::as_reply(protocol::errors::wrong_type);
      return out;
    }
    out.bytes.emplace_back(peeked->found ? std::string{part.bytes()} : std::string{});
  }
  return out;
}

// SINTER, SUNION or SDIFF of the sets, as views into their bytes.
std::vector<std::string_view> combine(const std::vector<std::string>& sets, algebra how,
                                      std::size_t limit = 0) {
  std::vector<std::unordered_set<std::string_view>> members(sets.size());
  for (std::size_t i = 0; i < sets.size(); ++i)
    if (!sets[i].empty())
      values::compact_set{sets[i]}.for_each([&](std::string_view m) { members[i].insert(m); });
  std::vector<std::string_view> result;
  if (how == algebra::uni) {
    std::unordered_set<std::string_view> seen;
    for (const auto& set : members)
      for (auto m : set)
        if (seen.insert(m).second)
          result.push_back(m);
    return result;
  }
  if (how == algebra::inter) {
    auto smallest = std::min_element(members.begin(), members.end(),
                                     [](const auto& a, const auto& b) { return a.size() < b.size(); });
    for (auto m : *smallest) {
      bool everywhere = std::all_of(members.begin(), members.end(),
                                    [&](const auto& set) { return set.count(m) != 0; });
      if (everywhere) {
        result.push_back(m);
        if (limit != 0 && result.size() >= limit)
          break;
      }
    }
    return result;
  }
  for (auto m : members[0]) {
    bool elsewhere = std::any_of(members.begin() + 1, members.end(),
                                 [&](const auto& set) { return set.count(m) != 0; });
    if (!elsewhere)
      result.push_back(m);
  }
  return result;
}

// The event a STORE form reports on its destination (shard::key_event plus
// one, as restore_args::event takes it).
std::uint8_t store_event(algebra how) {
  auto event = how == algebra::inter ? shard::key_event::sinterstore
               : how == algebra::uni ? shard::key_event::sunionstore
                                     : shard::key_event::sdiffstore;
  return static_cast<std::uint8_t>(static_cast<std::uint8_t>(event) + 1);
}

template <class Finish>
void algebra_steps(gateway_actor* self, std::vector<std::string> keys, algebra how,
                   std::string destination, bool store, int resp, Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) { peek_all(p, keys); },
    [self, keys, how, destination, store, resp, finish](commands::plan& p,
                                                         std::size_t first) mutable {
      auto sources = sources_of(p, first, keys.size());
      if (!sources.error.empty()) {
        finish(sources.error);
        return;
      }
      auto result = combine(sources.bytes, how);
      if (!store) {
        std::string reply;
        protocol::reply_writer out{reply, resp};
        out.set(result.size());
        for (auto m : result)
          out.bulk(m);
        finish(reply);
        return;
      }
      std::string bytes;
      values::append_varint(bytes, result.size());
      for (auto m : result)
        values::append_item(bytes, m);
      store_result(self, destination, std::move(bytes), set_type, store_event(how),
                   static_cast<std::int64_t>(result.size()), finish);
    });
}

// SINTERCARD numkeys key [key ...] [LIMIT limit].
template <class Finish>
void intercard_steps(gateway_actor* self, std::vector<std::string> keys, std::size_t limit,
                     Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) { peek_all(p, keys); },
    [keys, limit, finish](commands::plan& p, std::size_t first) mutable {
      auto sources = sources_of(p, first, keys.size());
      if (!sources.error.empty()) {
        finish(sources.error);
        return;
      }
      std::string reply;
      protocol::reply_writer{reply}.integer(
        static_cast<std::int64_t>(combine(sources.bytes, algebra::inter, limit).size()));
      finish(reply);
    });
}

// SMOVE source destination member: step 1 asks whether the member is in the
// source and in the destination (checking both keys' types); step 2 moves it
// in one plan, adding it only where it is missing. Watchers of a key are
// touched only when it changes, as in Redis.
template <class Finish>
void smove_steps(gateway_actor* self, std::string src, std::string dst, std::string member,
                 Finish finish) {
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& in_source = p.open(hidden_client(), commands::plan::merge::single);
      p.route(in_source, shard::op_code::sismember, src, member);
      auto& in_target = p.open(hidden_client(), commands::plan::merge::single);
      p.route(in_target, shard::op_code::sismember, dst, member);
    },
    [self, src, dst, member, finish](commands::plan& p, std::size_t first) mutable {
      auto present = reply_of(p, first);
      auto there = reply_of(p, first + 1);
      if (present.front() == '-' || there.front() == '-') {
        finish(present.front() == '-' ? present : there);
        return;
      }
      if (present != ":1\r\n" || src == dst) {
        finish(present);
        return;
      }
      bool add = there != ":1\r\n";
      std::string packed;
      values::append_item(packed, member);
      plan_step(
        self,
        [&](commands::plan& next) {
          auto from = next.operations();
          auto& out = next.open(hidden_client(), commands::plan::merge::single);
          next.route(out, shard::op_code::srem, src, packed);
          touch_watched_key(self, src);
          if (add) {
            auto& in = next.open(hidden_client(), commands::plan::merge::single);
            next.route(in, shard::op_code::sadd, dst, packed);
            touch_watched_key(self, dst);
          }
          next.note_writes_since(from);
          join_script_writes(self, next);
        },
        [finish, add](commands::plan& next, std::size_t second) mutable {
          auto written = reply_of(next, add ? second + 1 : second);
          finish(written.front() == '-' ? written : ":1\r\n");
        });
    });
}

algebra algebra_of(std::string_view name) {
  if (name.rfind("sinter", 0) == 0)
    return algebra::inter;
  if (name.rfind("sunion", 0) == 0)
    return algebra::uni;
  return algebra::diff;
}

// Parses one of these commands and runs its steps, the reply to `finish`; the
// keys it touches go to `held` first. False when `argv` is none of them.
template <class Start>
bool run_set_steps(gateway_actor* self, const args& argv, int resp, Start start) {
  auto name = commands::to_lower(argv[0]);
  if (name == "sinter" || name == "sunion" || name == "sdiff") {
    std::vector<std::string> keys(argv.begin() + 1, argv.end());
    auto held = keys;
    algebra_steps(self, std::move(keys), algebra_of(name), {}, false, resp, start(held));
    return true;
  }
  if (name == "sinterstore" || name == "sunionstore" || name == "sdiffstore") {
    std::vector<std::string> keys(argv.begin() + 2, argv.end());
    std::string destination{argv[1]};
    auto held = keys;
    held.push_back(destination);
    algebra_steps(self, std::move(keys), algebra_of(name), destination, true, resp,
                  start(held));
    return true;
  }
  if (name == "sintercard") {
    std::int64_t numkeys = 0;
    auto fail = [&](std::string_view error) {
      start(std::vector<std::string>{})(protocol::errors::as_reply(error));
    };
    if (!protocol::parse_int64(argv[1], numkeys) || numkeys <= 0) {
      fail("ERR numkeys should be greater than 0");
      return true;
    }
    if (static_cast<std::uint64_t>(numkeys) > argv.size() - 2) {
      fail("ERR Number of keys can't be greater than number of args");
      return true;
    }
    std::size_t limit = 0;
    auto rest = 2 + static_cast<std::size_t>(numkeys);
    for (auto i = rest; i < argv.size(); ++i) {
      std::int64_t n = 0;
      if (commands::equals_ignoring_case(argv[i], "limit") && i + 1 < argv.size()) {
        if (!protocol::parse_int64(argv[++i], n) || n < 0) {
          fail("ERR LIMIT can't be negative");
          return true;
        }
        limit = static_cast<std::size_t>(n);
      } else {
        fail(protocol::errors::syntax);
        return true;
      }
    }
    std::vector<std::string> keys(argv.begin() + 2, argv.begin() + static_cast<std::ptrdiff_t>(rest));
    auto held = keys;
    intercard_steps(self, std::move(keys), limit, start(held));
    return true;
  }
  if (name == "smove" && argv.size() == 4) {
    std::string src{argv[1]}, dst{argv[2]};
    smove_steps(self, src, dst, std::string{argv[3]}, start({src, dst}));
    return true;
  }
  return false;
}

} // namespace

void set_steps_command(gateway_actor* self, connection& conn, const args& argv,
                       commands::plan& work) {
  run_set_steps(self, argv, conn.context.resp_version, [&](std::vector<std::string> held) {
    return begin_holding_steps(self, conn, work, std::move(held));
  });
}

bool set_steps_from_script(gateway_actor* self, const args& argv, int resp,
                           std::function<void(std::string_view)> finish) {
  // (The script holds its keys already: declared, or the whole store.)
  return run_set_steps(self, argv, resp, [&](const std::vector<std::string>&) { return finish; });
}

} // namespace stairkv::gateway
