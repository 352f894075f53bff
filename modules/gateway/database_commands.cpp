// SELECT and SWAPDB: which of the node's databases a client's commands work on,
// and the exchange of two of them. A database is a number for clients and a
// table in every shard for the keys (shard/table.hpp); the node's map between
// the two (engine/databases.hpp) is this gateway's to change, since every plan
// of the node is made here (README: plan order). So SWAPDB is one change of the
// map between two plans: every plan before it reads the old tables, every plan
// after it the new ones, and no reader sees a half-swapped state; nothing moves
// in any shard.

#include <string>

#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/shard/batch.hpp"

namespace stairkv::gateway {

namespace {

constexpr std::string_view out_of_range = "-ERR DB index is out of range\r\n";

// A database number of this node, or -1 (and `error` set) when it is not one.
std::int64_t database_number(const engine::database_map& map, std::string_view text,
                             std::string_view not_integer, std::string& error) {
  std::int64_t n = 0;
  if (!protocol::parse_int64(text, n)) {
    error = std::string{not_integer};
    return -1;
  }
  if (n < 0 || n >= static_cast<std::int64_t>(map.count())) {
    error = std::string{out_of_range};
    return -1;
  }
  return n;
}

// After a swap: every watcher of a key in either database sees its EXEC fail
// (the key may have changed; which ones did would take a read of both).
void touch_watchers_of(gateway_actor* self, std::uint8_t a, std::uint8_t b) {
  auto& st = self->state;
  for (auto& [name, watchers] : st.watched_keys) {
    auto db = shard::database_of_name(name);
    if (db != a && db != b)
      continue;
    for (auto tag : watchers)
      if (auto it = find_client(st, tag); it != st.connections.end())
        it->second.watch_touched = true;
  }
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
  step_database = conn.context.db;
  touch_watchers_of(self, first, second);
  if (!st.config.aof_writer || !st.config.persistence
      || !st.config.persistence->aof_enabled.load(std::memory_order_relaxed)) {
    work.add_reply(conn.context, "+OK\r\n");
    return;
  }
  // The new numbering goes to the append-only file (the records name the
  // shards' databases, so only the map's order among maps matters), and the
  // reply waits for it, as an acknowledged write does under appendfsync always.
  persistence::journal record;
  record.databases(map.copy());
  auto fill = reply_later(self, conn, work);
  self->request(st.config.aof_writer, caf::infinite, persistence::append_sync_atom::value,
                record.take())
    .then([fill](bool ok) mutable {
      fill(ok ? "+OK\r\n" : "-MISCONF Errors writing to the AOF file\r\n");
    },
          [fill](caf::error&) mutable { fill("-MISCONF Errors writing to the AOF file\r\n"); });
}

} // namespace stairkv::gateway
