// Commands on keys of any type: one planner per command, named after it.

#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/values/dump.hpp"

namespace stairkv::commands {

namespace {

using protocol::errors::not_an_integer;
using shard::op_code;

constexpr const char* object_help[] = {
  "OBJECT <subcommand> [<arg> ...]. Subcommands are:",
  "ENCODING <key>",
  "    How the value is stored: int, embstr or raw for a string.",
  "FREQ <key>",
  "    The key's logarithmic access counter (under an LFU maxmemory-policy).",
  "IDLETIME <key>",
  "    Seconds since the key was last read or written (not under an LFU policy).",
  "REFCOUNT <key>",
  "    References to the value: always 1, values are never shared.",
  "HELP",
  "    This text.",
};

} // namespace

// DEL and EXISTS count per key, summed over shards; a key named twice counts twice
// for EXISTS and once for DEL, because its shard runs both operations in order.
void plan_del(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::sum);
  for (std::size_t i = 1; i < argv.size(); ++i)
    p.route(rec, op_code::del, argv[i]);
}

void plan_exists(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::sum);
  for (std::size_t i = 1; i < argv.size(); ++i)
    p.route(rec, op_code::exists, argv[i]);
}

// TOUCH key [key ...]: how many exist; each counts as accessed.
void plan_touch(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::sum);
  for (std::size_t i = 1; i < argv.size(); ++i)
    p.route(rec, op_code::touch, argv[i]);
}

// TYPE key: string, hash, or none.
void plan_type(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::type, argv[1]);
}

// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ key, and OBJECT HELP: what the
// key's shard knows of it, without counting an access.
void plan_object(plan& p, const client_context& client, const args& argv) {
  auto sub = argv[1];
  if (equals_ignoring_case(sub, "help") && argv.size() == 2) {
    auto begin = p.local_bytes().size();
    auto& rec = p.open(client, plan::merge::local);
    protocol::reply_writer out{p.local_bytes(), client.resp_version};
    out.array(std::size(object_help));
    for (const auto* line : object_help)
      out.simple(line);
    p.close_local(rec, begin);
    return;
  }
  static constexpr std::pair<const char*, shard::object_view> views[] = {
    {"encoding", shard::object_view::encoding},
    {"refcount", shard::object_view::refcount},
    {"idletime", shard::object_view::idletime},
    {"freq", shard::object_view::freq},
  };
  for (const auto& [name, view] : views) {
    if (!equals_ignoring_case(sub, name))
      continue;
    if (argv.size() != 3) {
      reply_error(p, client, protocol::errors::wrong_arity("object|" + std::string{name}));
      return;
    }
    route_single(p, client, op_code::object, argv[2], {}, shard::object_args{view});
    return;
  }
  reply_error(p, client, protocol::errors::unknown_subcommand(sub, "OBJECT"));
}

// MEMORY USAGE key [SAMPLES count]: the bytes the key takes in its shard (the
// count is exact, so SAMPLES changes nothing).
void plan_memory(plan& p, const client_context& client, const args& argv) {
  auto sub = argv[1];
  if (!equals_ignoring_case(sub, "usage")) {
    auto msg = protocol::errors::unknown_subcommand(sub, "MEMORY");
    reply_error(p, client, msg);
    return;
  }
  if (argv.size() != 3 && argv.size() != 5) {
    reply_error(p, client, argv.size() < 3
                             ? "ERR wrong number of arguments for 'memory|usage' command"
                             : "ERR syntax error");
    return;
  }
  std::int64_t samples = 0;
  if (argv.size() == 5
      && (!equals_ignoring_case(argv[3], "samples")
          || !protocol::parse_int64(argv[4], samples) || samples < 0)) {
    reply_error(p, client, equals_ignoring_case(argv[3], "samples") ? not_an_integer
                                                                    : "ERR syntax error");
    return;
  }
  route_single(p, client, op_code::memory_usage, argv[2]);
}

// KEYS pattern: every shard lists its matches; one array of all of them.
void plan_keys(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::concat);
  p.route_to_all(rec, op_code::keys, argv[1]);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: every shard lists its
// keys in the cursor's stretch of scan positions (see table::op_scan); the
// reply's cursor says where the next stretch starts and how wide it is.
void plan_scan(plan& p, const client_context& client, const args& argv) {
  scan_options options;
  if (auto error = read_scan_options(argv, 1, options); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  auto cursor = options.cursor;
  auto pattern = options.pattern;
  auto count = options.count;
  std::uint8_t type_filter = 0;
  if (options.typed) {
    type_filter = shard::scan_args::any_type_excluded;
    const char* names[] = {"string", "hash", "set", "list", "zset", "stream"};
    for (std::uint8_t t = 0; t < 6; ++t)
      if (equals_ignoring_case(options.type, names[t]))
        type_filter = static_cast<std::uint8_t>(t + 1);
  }
  // Cursor 0 starts at position 0 with a span of 2^22 (1/1024 of the space).
  constexpr unsigned first_span = 22;
  std::uint64_t start = cursor >> 6;
  unsigned span = cursor == 0 ? first_span : static_cast<unsigned>(cursor & 63);
  if (start >= (std::uint64_t{1} << 32) || span > 32) {
    // Not a cursor this node hands out: the iteration is over.
    auto begin = p.local_bytes().size();
    auto& rec = p.open(client, plan::merge::local);
    protocol::reply_writer out{p.local_bytes(), client.resp_version};
    out.array(2);
    out.bulk("0");
    out.array(0);
    p.close_local(rec, begin);
    return;
  }
  auto& rec = p.open_scan(client, plan::scan_step{start, span,
                                                   static_cast<std::uint64_t>(count)});
  shard::scan_args window;
  window.cursor = static_cast<std::uint32_t>(start);
  window.width_log2 = static_cast<std::uint8_t>(span);
  window.type_filter = type_filter;
  p.route_to_all(rec, op_code::scan, pattern, window);
}

// RANDOMKEY: every shard offers one of its keys; one of the offers is picked.
void plan_randomkey(plan& p, const client_context& client, const args&) {
  auto& rec = p.open(client, plan::merge::any);
  p.route_to_all(rec, op_code::random_key);
}

} // namespace stairkv::commands

namespace stairkv::commands {

// DUMP key: the key's payload (values/dump.hpp), or null.
void plan_dump(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, shard::op_code::dump, argv[1]);
}

// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]:
// the payload's version and checksum are checked here, its contents by the
// shard. IDLETIME and FREQ are checked and otherwise left out: a restored key
// starts fresh for the eviction policy.
void plan_restore(plan& p, const client_context& client, const args& argv) {
  shard::restore_args restore;
  restore.replace = false;
  bool absolute = false;
  bool idle = false, freq = false;
  for (std::size_t i = 4; i < argv.size(); ++i) {
    bool more = i + 1 < argv.size();
    std::int64_t n = 0;
    if (equals_ignoring_case(argv[i], "replace")) {
      restore.replace = true;
    } else if (equals_ignoring_case(argv[i], "absttl")) {
      absolute = true;
    } else if (equals_ignoring_case(argv[i], "idletime") && more && !freq) {
      if (!protocol::parse_int64(argv[++i], n)) {
        reply_error(p, client, protocol::errors::not_an_integer);
        return;
      }
      if (n < 0) {
        reply_error(p, client, "ERR Invalid IDLETIME value, must be >= 0");
        return;
      }
      idle = true;
    } else if (equals_ignoring_case(argv[i], "freq") && more && !idle) {
      if (!protocol::parse_int64(argv[++i], n)) {
        reply_error(p, client, protocol::errors::not_an_integer);
        return;
      }
      if (n < 0 || n > 255) {
        reply_error(p, client, "ERR Invalid FREQ value, must be >= 0 and <= 255");
        return;
      }
      freq = true;
    } else {
      reply_error(p, client, protocol::errors::syntax);
      return;
    }
  }
  std::int64_t ttl = 0;
  if (!protocol::parse_int64(argv[2], ttl)) {
    reply_error(p, client, protocol::errors::not_an_integer);
    return;
  }
  if (ttl < 0) {
    reply_error(p, client, "ERR Invalid TTL value, must be >= 0");
    return;
  }
  std::string_view bytes;
  if (!values::read_dump_payload(argv[3], restore.type, bytes)) {
    reply_error(p, client, "ERR DUMP payload version or checksum are wrong");
    return;
  }
  if (ttl != 0)
    restore.deadline = absolute ? ttl : p.now() + ttl;
  route_single(p, client, shard::op_code::restore, argv[1], bytes, restore);
}

} // namespace stairkv::commands
