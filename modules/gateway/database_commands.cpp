// SELECT and SWAPDB: which of the node's databases a client's commands work on,
// and the exchange of two of them. A database is a number for clients and a
// table in every shard for the keys (shard/table.hpp); the node's map between
// the two (engine/databases.hpp) is this gateway's to change, since every plan
// of the node is made here (README: plan order). So SWAPDB is one change of the
// map between two plans: every plan before it reads the old tables, every plan
// after it the new ones, and no reader sees a half-swapped state; nothing moves
// in any shard.

#include <algorithm>
#include <string>
#include <vector>

#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/shard/batch.hpp"

namespace stairkv::gateway {

namespace {

// A database number of this node, or -1 with the error reply in `error`:
// out of range, or `not_integer` (SWAPDB words that one its own way).
std::int64_t database_number(const engine::database_map& map, std::string_view text,
                             std::string_view not_integer, std::string& error) {
  unsigned n = 0;
  std::string_view why;
  if (map.read_number(text, n, why))
    return n;
  error = why == engine::database_map::out_of_range ? protocol::errors::as_reply(why)
                                                    : std::string{not_integer};
  return -1;
}

// After a swap, as Redis decides it: a watcher of a key in either database
// sees its EXEC fail when the key is live in one of them (it has appeared,
// gone or changed under that number), not when neither holds it live (a key
// past its deadline counts as none). Whether it is takes a read of both, so
// until the reads are back each such watcher is touched provisionally
// (connection::provisional_touch): an EXEC meanwhile fails, as it may have to,
// and the reads clear the touch they find needless, unless something else
// touched the watcher since. Returns the keys to read (none: no watcher).
std::vector<std::string> touch_watchers_of(gateway_actor* self, std::uint8_t a,
                                           std::uint8_t b, std::uint64_t serial) {
  auto& st = self->state;
  std::vector<std::string> keys;
  for (auto& [name, watchers] : st.watched_keys) {
    auto db = shard::database_of_name(name);
    if (db != a && db != b)
      continue;
    keys.emplace_back(shard::key_of_name(name));
    for (auto tag : watchers)
      if (auto it = find_client(st, tag); it != st.connections.end()) {
        auto& watcher = it->second;
        if (!watcher.watch_touched) {
          watcher.watch_touched = true;
          watcher.provisional_touch = serial;
        }
      }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// The reads are back: `live` the keys live in either database. A watcher
// touched by this swap alone stays touched only if one of its keys is among
// them.
void settle_watchers(gateway_actor* self, std::uint8_t a, std::uint8_t b,
                     std::uint64_t serial, const std::vector<std::string>& live) {
  auto& st = self->state;
  for (auto& [id, conn] : st.connections) {
    if (conn.provisional_touch != serial)
      continue;
    conn.provisional_touch = 0;
    bool changed = false;
    for (const auto& [name, deadline] : conn.watching) {
      auto db = shard::database_of_name(name);
      if (db != a && db != b)
        continue;
      changed = changed || std::binary_search(live.begin(), live.end(), shard::key_of_name(name));
    }
    conn.watch_touched = changed;
  }
}

// Writes the new numbering to the append-only file, if there is one, then
// answers `reply` (+OK, or the file's error).
template <class Reply>
void persist_numbering(gateway_actor* self, Reply reply) {
  auto& st = self->state;
  if (!st.config.aof_writer || !st.config.persistence
      || !st.config.persistence->aof_enabled.load(std::memory_order_relaxed)) {
    reply("+OK\r\n");
    return;
  }
  // The records name the shards' databases, so only the maps' order among
  // themselves matters; the reply waits for the file, as an acknowledged
  // write does under appendfsync always.
  persistence::journal record;
  record.databases(st.config.databases->copy());
  self->request(st.config.aof_writer, caf::infinite, persistence::append_sync_atom::value,
                record.take())
    .then([reply](bool ok) mutable {
      reply(ok ? "+OK\r\n" : "-MISCONF Errors writing to the AOF file\r\n");
    },
          [reply](caf::error&) mutable { reply("-MISCONF Errors writing to the AOF file\r\n"); });
}

} // namespace

void select_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  const auto& map = *self->state.config.databases;
  std::string error;
  auto n = database_number(map, argv[1], protocol::errors::as_reply(protocol::errors::not_an_integer),
                           error);
  if (n < 0) {
    work.add_reply(conn.context, error);
    return;
  }
  if (n != 0 && self->state.config.cluster) {
    work.add_reply(conn.context, "-ERR SELECT is not allowed in cluster mode\r\n");
    return;
  }
  conn.db = static_cast<unsigned>(n);
  conn.context.db = map.physical(conn.db);
  step_database = conn.context.db;
  work.add_reply(conn.context, "+OK\r\n");
}

void swapdb_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  auto& st = self->state;
  auto& map = *st.config.databases;
  std::string error;
  auto a = database_number(map, argv[1], "-ERR invalid first DB index\r\n", error);
  auto b = a < 0 ? -1 : database_number(map, argv[2], "-ERR invalid second DB index\r\n", error);
  if (a < 0 || b < 0) {
    work.add_reply(conn.context, error);
    return;
  }
  auto first = map.physical(static_cast<unsigned>(a));
  auto second = map.physical(static_cast<unsigned>(b));
  map.swap(static_cast<unsigned>(a), static_cast<unsigned>(b));
  for (auto& [id, client] : st.connections)
    client.context.db = map.physical(client.db);
  for (auto& [tag, client] : st.finishing_execs)
    client.context.db = map.physical(client.db);
  // Clients blocked on keys of either database wait on their number's new
  // database from now on (and are served at once if it holds their key).
  rehome_blocked_clients(self, first, second);
  step_database = conn.context.db;
  auto serial = ++st.swap_serial;
  auto keys = touch_watchers_of(self, first, second, serial);
  if (keys.empty()) {
    if (!st.config.aof_writer) {
      work.add_reply(conn.context, "+OK\r\n");
      return;
    }
    persist_numbering(self, reply_later(self, conn, work));
    return;
  }
  auto finish = begin_steps(self, conn, work);
  plan_step(
    self,
    [&](commands::plan& p) {
      for (auto db : {first, second}) {
        auto client = hidden_client();
        client.db = db;
        for (const auto& key : keys) {
          auto& rec = p.open(client, commands::plan::merge::sum);
          p.route(rec, shard::op_code::exists, key);
        }
      }
    },
    [self, keys, first, second, serial, finish](commands::plan& p, std::size_t at) mutable {
      std::vector<std::string> live;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        auto in_first = p.count_of(at + i);
        auto in_second = p.count_of(at + keys.size() + i);
        // A read that failed counts as live: the touch stays.
        if (!in_first.error.empty() || !in_second.error.empty() || in_first.total != 0
            || in_second.total != 0)
          live.push_back(keys[i]);
      }
      settle_watchers(self, first, second, serial, live);
      persist_numbering(self, finish);
    });
}

} // namespace stairkv::gateway
