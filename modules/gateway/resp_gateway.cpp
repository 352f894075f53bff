#include "modules/gateway/resp_gateway.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/cluster/messages.hpp"
#include "modules/commands/command_table.hpp"
#include "modules/commands/glob.hpp"
#include "modules/commands/plan.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/connection.hpp"
#include "modules/gateway/gateway_state.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/persistence/saver.hpp"
#include "modules/scripting/script_runner.hpp"
#include "modules/gateway/info_report.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/protocol/request_parser.hpp"
#include "modules/shard/blocking.hpp"
#include "modules/shard/clock.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv::gateway {

namespace {

using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using unpause_atom = caf::atom_constant<caf::atom("unpause")>;

// How often idle clients are looked for (the `timeout` option).
constexpr std::chrono::seconds tick_interval{1};

// Bytes asked of the socket per read. Small on purpose: CAF zero-fills its read
// buffer to this size on every read, and 64 KB reads cost ~30% of throughput.
constexpr std::size_t read_chunk = 4096;

// A client may hold at most this much unparsed input (Redis's
// client-query-buffer-limit default): enough for any legal argument (512 MB) plus
// its pipeline, small enough that one client cannot take the machine's memory.
constexpr std::size_t max_query_buffer = 1024ull * 1024 * 1024;


void render(gateway_actor* self, std::string& out, std::string_view section,
            const commands::keyspace_totals& totals) {
  auto& st = self->state;
  info_inputs in{st.config.facts.get(), st.dispatcher.routing().get(), st.figures,
                 totals, shard::unix_now_ms(), st.config.memory.get(),
                 st.config.persistence.get(), st.config.script_figures.get()};
  in.databases = st.config.databases.get();
  in.clients.connected = static_cast<std::int64_t>(st.connections.size());
  in.clients.blocked = blocked_clients(st);
  for (const auto& [handle, conn] : st.connections) {
    in.clients.max_input_buffer = std::max(
      in.clients.max_input_buffer,
      static_cast<std::int64_t>(std::max(conn.input.size(), conn.query_pending)));
    in.clients.max_output_buffer = std::max(
      in.clients.max_output_buffer,
      conn.unsent + static_cast<std::int64_t>(conn.output.size() + conn.deferred_pushes.size()));
  }
  in.clients.latency_percentiles = st.config.settings->limits.latency_percentiles;
  if (!st.config.settings->limits.latency_tracking)
    in.clients.latency.clear();
  in.clients.maxclients = st.config.settings->limits.maxclients;
  if (const auto& subs = st.config.subscription_figures) {
    in.clients.pubsub_channels = subs->channels.load(std::memory_order_relaxed);
    in.clients.pubsub_patterns = subs->patterns.load(std::memory_order_relaxed);
  }
  if (const auto& tracking = st.config.tracking) {
    in.clients.tracking_clients = tracking->clients.load(std::memory_order_relaxed);
    in.clients.tracking_keys = tracking->keys.load(std::memory_order_relaxed);
    in.clients.tracking_items = tracking->items.load(std::memory_order_relaxed);
    in.clients.tracking_prefixes = tracking->prefixes.load(std::memory_order_relaxed);
  }
  in.clients.acl_denied_auth = st.acl_denied.auth;
  in.clients.acl_denied_commands = st.acl_denied.commands;
  in.clients.acl_denied_keys = st.acl_denied.keys;
  in.clients.acl_denied_channels = st.acl_denied.channels;
  render_info(out, section, in);
}

} // namespace

// The connection a plan or the broker means by `tag`, or end() if it is gone
// (even if another client now has the same socket number).
connection_map::iterator find_client(gateway_state& st, std::uint64_t tag) {
  auto it = st.connections.find(tag & 0xffffffffu);
  if (it != st.connections.end() && it->second.context.tag != tag)
    return st.connections.end();
  return it;
}

commands::plan& current_plan(gateway_actor* self) {
  auto& st = self->state;
  if (!st.building) {
    auto now = shard::unix_now_ms();
    st.building = std::make_shared<commands::plan>(st.dispatcher.routing(), now);
    st.building->reuse_request_buffer(std::move(st.spare_requests));
    if (st.config.memory)
      st.building->refuse_growth(st.config.memory->refuses_growth(now));
    if (st.config.persistence)
      st.building->refuse_writes(st.config.persistence->refusal());
    st.building_id = st.next_plan_id++;
    self->send(self, dispatch_atom::value);
  }
  return *st.building;
}

// CAF reports each completed write from now on: a message per write, so only for
// connections that need it.
void track_output(gateway_actor* self, connection& conn) {
  if (conn.tracking_output)
    return;
  conn.tracking_output = true;
  self->ack_writes(conn.handle, true);
}

later_reply reply_later(gateway_actor* self, connection& conn, commands::plan& work) {
  return later_reply{self, self->state.building_id, work.add_external(conn.context)};
}

void later_reply::operator()(std::string_view resp) const {
  auto* plan = find_plan(self_, plan_id_);
  if (plan != nullptr && plan->fill_external(index_, resp))
    plan_progressed(self_, plan_id_);
}

namespace {

// A client that keeps its replies unread shows first in the kernel's send queue:
// after every stall_check_bytes written to an untracked connection, one ioctl
// looks, and a queue that deep starts exact tracking. Clients that read their
// replies never cost more than that ioctl.
constexpr std::int64_t stall_check_bytes = 64 * 1024;
constexpr int stalled_queue_bytes = 64 * 1024;

// A connection's buffers keep the capacity of their largest burst (a deep
// pipeline's replies to a client that read them late, a large value) and can
// reach megabytes. That memory counts against maxmemory, so a connection gives
// back whatever passes retained_buffer_bytes once a buffer is empty: Redis, too,
// frees reply buffers once they are written and shrinks idle query buffers.
constexpr std::size_t retained_buffer_bytes = 64 * 1024;

template <class Buffer>
void release_if_large(Buffer& buffer) {
  if (buffer.empty() && buffer.capacity() > retained_buffer_bytes)
    Buffer{}.swap(buffer);
}

// CAF's socket has two buffers: the one being written and the one being filled,
// swapped by a flush when the socket is idle. Each is empty, and can be let go,
// right after such a swap or once every byte is written.
void release_socket_buffer(gateway_actor* self, connection& conn) {
  release_if_large(self->wr_buf(conn.handle));
}

// Hands bytes to the connection's socket, counting them when output is tracked.
void write_out(gateway_actor* self, connection& conn, const std::string& bytes) {
  // The bytes the socket gets: a TLS client's are the records, which CAF's
  // write acknowledgements count (the output bounds are kept in them).
  auto size = static_cast<std::int64_t>(bytes.size());
  if (conn.tls) {
    auto& wire = self->state.tls_wire;
    wire.clear();
    conn.tls->send(bytes, wire);
    self->write(conn.handle, wire.size(), wire.data());
    size = static_cast<std::int64_t>(wire.size());
  } else {
    self->write(conn.handle, bytes.size(), bytes.data());
  }
  self->flush(conn.handle);
  auto& figures = self->state.figures;
  figures.net_output_bytes += size;
  ++figures.writes_processed;
  release_socket_buffer(self, conn);
  if (conn.tracking_output) {
    conn.unsent += size;
    return;
  }
  conn.written_since_check += size;
  if (conn.written_since_check < stall_check_bytes)
    return;
  conn.written_since_check = 0;
  int queued = 0;
  if (::ioctl(static_cast<int>(conn.handle.id()), SIOCOUTQ, &queued) == 0
      && queued >= stalled_queue_bytes)
    track_output(self, conn);
}

} // namespace

void write_when_answered(gateway_actor* self, connection& conn, std::string_view bytes) {
  if (conn.unanswered > 0) {
    conn.deferred_pushes.append(bytes.data(), bytes.size());
    return;
  }
  write_out(self, conn, std::string{bytes});
}

namespace {

// Back-pressure for clients without an output limit (Redis's default for normal
// clients is none): past pause_output_bytes of unwritten replies the gateway stops
// reading the client's requests, and reads again below resume_output_bytes. Its
// memory stays bounded, and it loses nothing: once it reads, everything comes.
constexpr std::int64_t pause_output_bytes = 1 << 20;
constexpr std::int64_t resume_output_bytes = 256 << 10;

// Whether a peer address is on the loopback interface (IPv4 127/8, ::1, and
// IPv4-mapped loopback).
bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1"
         || address.rfind("::ffff:127.", 0) == 0 || address == "localhost";
}

const std::string protected_mode_refusal =
  "-DENIED stairkv is running in protected mode: no password is set for the default "
  "user, so only clients on the loopback interface are served. To serve others, set a "
  "password for the default user (CONFIG SET requirepass, or ACL SETUSER), or turn "
  "protected mode off: CONFIG SET protected-mode no from a loopback client, or start "
  "the node with --protected-mode=no.\r\n";

// Redis's limit for a client that has not authenticated (requirepass).
constexpr std::int64_t unauthenticated_output_bytes = 1024;

// Forgets a connection: its subscriptions go, and so does the connection record.
void forget(gateway_actor* self,
            connection_map::iterator it) {
  leave_blocked(self, it->second);
  leave_subscriptions_and_monitor(self, it->second);
  stop_tracking(self, it->second);
  self->state.tags_by_serial.erase(it->second.serial);
  unwatch_all(self, it->second); // a queued transaction goes with the record
  // An EXEC behind a multi-step command still runs to its end (a transaction
  // runs whole or not at all), for nobody: its replies are dropped.
  if (it->second.exec.active) {
    auto tag = it->second.context.tag;
    self->state.finishing_execs.emplace(tag, std::move(it->second));
  }
  self->state.connections.erase(it);
}

// Redis's client-output-buffer-limit: a connection whose pending output passes
// the hard limit, or stays above the soft one for its seconds, is cut off at once
// (its socket shut down, its unsent output dropped); nobody else notices. Returns
// true when the connection is gone.
bool enforce_output_limit(gateway_actor* self,
                          connection_map::iterator it) {
  auto& conn = it->second;
  if (!conn.tracking_output)
    return false;
  const auto& limits = self->state.config.settings->limits;
  const auto& limit = conn.subscribed() || conn.monitoring ? limits.pubsub : limits.normal;
  auto pending = conn.unsent + static_cast<std::int64_t>(conn.deferred_pushes.size());
  if (!conn.subscribed() && !conn.monitoring) {
    if (!conn.reading_paused && pending > pause_output_bytes) {
      conn.reading_paused = true;
      self->halt(conn.handle);
    } else if (conn.reading_paused && pending < resume_output_bytes) {
      conn.reading_paused = false;
      self->trigger(conn.handle);
    }
  }
  bool cut = !conn.authenticated && pending > unauthenticated_output_bytes;
  if (!cut && !limit.enabled())
    return false;
  cut = cut || (limit.hard_bytes > 0 && pending > limit.hard_bytes);
  if (!cut && limit.soft_bytes > 0 && pending > limit.soft_bytes) {
    auto now = shard::unix_now_ms();
    if (conn.over_soft_since_ms == 0)
      conn.over_soft_since_ms = now;
    else if (now - conn.over_soft_since_ms >= limit.soft_seconds * 1000)
      cut = true;
  } else if (!cut) {
    conn.over_soft_since_ms = 0;
  }
  if (!cut)
    return false;
  if (self->state.config.log)
    self->state.config.log("Client id=" + std::to_string(conn.serial)
                           + " closed for overcoming of output buffer limits ("
                           + std::to_string(pending) + " bytes pending).");
  // CAF's close waits until everything queued is written, which a client that does
  // not read never allows; shutting the socket down makes the pending write fail
  // now. (With CAF's default multiplexer a connection handle is its socket.)
  ::shutdown(static_cast<int>(conn.handle.id()), SHUT_RDWR);
  self->close(conn.handle);
  ++self->state.figures.output_limit_disconnections;
  forget(self, it);
  return true;
}


} // namespace

ran_command run_command(gateway_actor* self, connection& conn, const args& argv,
                        const commands::command_spec* spec, std::size_t slot,
                        commands::plan& work, std::size_t query_pending) {
  auto& figures = self->state.figures;
  auto first_record = work.size();
  step_database = conn.context.db; // for the steps its handler may plan
  // Inside EXEC the subscribed mode's limits do not apply (as in Redis: a
  // transaction may SUBSCRIBE, then PUBLISH).
  bool rejected = !conn.exec.active && refused_while_subscribed(conn, spec, argv, work);
  if (conn.tracking.on)
    note_tracking(conn, spec);
  if (!rejected) {
    auto result = commands::execute_command(work, conn.context, argv, spec);
    if (result == commands::outcome::rejected) {
      rejected = true;
    } else if (result == commands::outcome::gateway) {
      // Session commands run here, so their time is taken here (two clock
      // readings; they are the rare commands).
      auto started = std::chrono::steady_clock::now();
      conn.query_pending = query_pending;
      conn.argv_bytes = 0;
      for (auto a : argv)
        conn.argv_bytes += a.size();
      session_handler_of(*spec)(self, conn, argv, work);
      conn.query_pending = conn.argv_bytes = 0;
      auto took = std::chrono::steady_clock::now() - started;
      work.add_nanos(first_record,
                     std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
    }
  }
  if (!rejected && spec != nullptr) {
    if (!self->state.monitors.empty() && !commands::stat_slots()[slot].admin)
      feed_monitors(self, conn, argv);
    if ((spec->flags & commands::flag::write) != 0 && !self->state.watched_keys.empty())
      touch_watched_keys(self, *spec, argv);
    static const auto* flushall = commands::find_command("flushall");
    static const auto* flushdb = commands::find_command("flushdb");
    if (spec == flushall || spec == flushdb)
      announce_flush(self);
  }
  if (spec != nullptr) {
    ++(rejected ? figures.rejected_calls : figures.calls)[slot];
    work.note_command(first_record, slot, rejected);
  }
  return {first_record, rejected};
}

namespace {

// A request up to this size is kept whole for the slow log (one copy into the
// plan); a larger one only as its trimmed arguments.
constexpr std::size_t slow_log_request_bytes = 16 * 1024;

std::size_t consume(gateway_actor* self, connection& conn, const char* data,
                    std::size_t size);

// Parses what a client sent while it was held (a multi-step command of its
// own, CLIENT PAUSE, keys another client's multi-step command holds), once
// nothing holds it any more.
void consume_held_input(gateway_actor* self, connection& conn) {
  if (conn.input.empty() || conn.closing)
    return;
  auto used = consume(self, conn, conn.input.data(), conn.input.size());
  conn.input.erase(0, used);
}

} // namespace

// Lets the clients `tags` names go on, oldest connection first: each one still
// connected has `held` (what held it: a pause, held keys) cleared and the input
// it sent meanwhile parsed.
void resume_held_clients(gateway_actor* self, const std::vector<std::uint64_t>& tags,
                         bool connection::*held) {
  auto& st = self->state;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> order; // (serial, tag)
  for (auto tag : tags) {
    auto it = find_client(st, tag);
    if (it != st.connections.end())
      order.emplace_back(it->second.serial, tag);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [serial, tag] : order) {
    auto it = find_client(st, tag);
    if (it == st.connections.end())
      continue;
    it->second.*held = false;
    consume_held_input(self, it->second);
  }
}

namespace {

// Whether CLIENT PAUSE holds this command now: every command under ALL; under
// WRITE, those that write and PUBLISH, as Redis 7.
bool held_by_pause(gateway_actor* self, const commands::command_spec* spec) {
  auto& st = self->state;
  if (st.paused_until_ms == 0 || shard::unix_now_ms() >= st.paused_until_ms)
    return false;
  if (st.pause_all)
    return true;
  return spec != nullptr
         && ((spec->flags & commands::flag::write) != 0
             || std::string_view{spec->name} == "publish");
}

// Whether a command would touch a key a multi-step command holds: one of its
// keys (an EXEC: of its queued commands' keys), or the whole key space.
bool names_held_key(gateway_actor* self, const connection& conn, const args& argv,
                    const commands::command_spec* spec) {
  if (spec == nullptr)
    return false;
  if (conn.transaction.active) {
    // Queuing touches nothing; EXEC touches what it queued.
    if (std::string_view{spec->name} != "exec")
      return false;
    for (const auto& queued : conn.transaction.queued)
      if (const auto* s = commands::find_command(queued[0]);
          s != nullptr && touches_held_keys(self, *s, queued))
        return true;
    return false;
  }
  return touches_held_keys(self, *spec, argv);
}

// Parses every complete command in `data`, plans it, and returns how many bytes
// were consumed. Stops at a protocol error after planning its error reply.
std::size_t consume(gateway_actor* self, connection& conn, const char* data,
                    std::size_t size) {
  // The slow log may want any of these commands' arguments once they have run:
  // a read's bytes are copied into the plan once, and each command remembers
  // where its own are (a large buffer, only command by command).
  bool keep = self->state.config.settings->limits.slowlog_log_slower_than >= 0;
  constexpr std::size_t no_copy = ~std::size_t{0};
  auto copied_at = no_copy;
  std::size_t pos = 0;
  while (!conn.closing && !conn.waiting_for_step && !conn.waiting_for_pause
         && !conn.waiting_for_keys && !conn.waiting_for_script) {
    auto request_start = pos;
    auto status = conn.parser.parse(data + pos, size - pos);
    if (status == protocol::request_parser::status::error) {
      std::string reply;
      protocol::reply_writer out{reply, conn.context.resp_version};
      std::string msg = "ERR ";
      msg.append(conn.parser.error());
      out.error(msg);
      current_plan(self).add_reply(conn.context, reply);
      ++conn.unanswered;
      conn.closing = true;
      return size;
    }
    pos += conn.parser.consumed();
    if (status == protocol::request_parser::status::need_more)
      break;
    const auto& argv = conn.parser.args();
    const auto* spec = commands::find_command(argv[0]);
    if (self->state.script_running) {
      if (self->state.script_busy) {
        // Past the busy threshold, every command is answered -BUSY, but for
        // those answer_while_busy lets through.
        auto answer = answer_while_busy(self, conn, spec, argv);
        if (!answer.empty()) {
          ++self->state.figures.commands_processed;
          if (conn.unanswered == 0) {
            write_out(self, conn, answer);
          } else {
            current_plan(self).add_reply(conn.context, answer);
            ++conn.unanswered;
          }
          continue;
        }
      } else if (waits_for_script(self, conn, spec)) {
        // Planned once the script has ended (or answered -BUSY once it is).
        conn.waiting_for_script = true;
        self->state.script_waiters.push_back(conn.context.tag);
        pos = request_start;
        break;
      }
    }
    if (held_by_pause(self, spec)) {
      conn.waiting_for_pause = true;
      pos = request_start; // parsed again when the pause ends
      break;
    }
    if (!self->state.held_keys.empty() && names_held_key(self, conn, argv, spec)) {
      conn.waiting_for_keys = true;
      self->state.key_waiters.push_back(conn.context.tag);
      pos = request_start; // parsed again once the keys are let go
      break;
    }
    auto& work = current_plan(self);
    ++conn.unanswered;
    ++self->state.figures.commands_processed;
    auto& figures = self->state.figures;
    // Counted per command, and per subcommand of a container (config|get).
    auto slot = spec != nullptr ? commands::stat_slot_of(*spec, argv) : 0;
    if (!conn.authenticated) {
      std::string refusal;
      if (!allowed_before_auth(conn, argv, refusal)) {
        if (spec != nullptr)
          ++figures.rejected_calls[slot];
        work.add_reply(conn.context, refusal);
        continue;
      }
    }
    if (spec != nullptr) {
      conn.last_command = spec;
      conn.last_subcommand.clear();
      std::string_view name = spec->name;
      if (argv.size() > 1 && (name == "client" || name == "config"))
        conn.last_subcommand = commands::to_lower(argv[1].substr(0, 32));
    }
    // CLIENT REPLY: subscription confirmations always go out (they are pushes),
    // and CLIENT REPLY itself decides about its own reply.
    bool silent = false;
    if ((conn.replies_off || conn.skip_next_reply) && spec != nullptr) {
      std::string_view name = spec->name;
      bool exempt = name == "subscribe" || name == "psubscribe" || name == "unsubscribe"
                    || name == "punsubscribe" || name == "ssubscribe"
                    || name == "sunsubscribe"
                    || (name == "client" && argv.size() > 1
                        && commands::equals_ignoring_case(argv[1], "reply"));
      silent = !exempt;
      if (!exempt)
        conn.skip_next_reply = false;
    }
    // ACL: a bit test for users limited to some commands, pattern matches for
    // those limited to some keys or channels; nothing for unrestricted ones.
    if (spec != nullptr && !conn.user->unrestricted() && commands::arity_ok(*spec, argv.size())) {
      auto refusal =
        acl_refusal(self, conn, argv, slot, conn.transaction.active ? "multi" : "toplevel");
      if (!refusal.empty()) {
        if (conn.transaction.active)
          conn.transaction.aborted = true; // as Redis: EXEC then fails with EXECABORT
        ++figures.rejected_calls[slot];
        work.add_reply(conn.context, protocol::errors::as_reply(refusal));
        if (silent)
          work.silence_from(work.size() - 1);
        continue;
      }
    }
    // Cluster mode: a command whose keys another node serves (or that no
    // node serves now) is answered with Redis's redirect, queued or not.
    if (self->state.config.cluster && spec != nullptr
        && commands::arity_ok(*spec, argv.size())) {
      std::string refusal;
      auto where = route_in_cluster(self, conn, argv, *spec, refusal);
      if (where == cluster_route::wait) {
        // Parsed again once the node knows which of its keys it holds.
        --conn.unanswered;
        --figures.commands_processed;
        pos = request_start;
        break;
      }
      if (where == cluster_route::refused) {
        if (std::string_view{spec->name} == "exec") {
          conn.transaction = {}; // as Redis: the transaction is discarded
          unwatch_all(self, conn);
        } else if (conn.transaction.active) {
          conn.transaction.aborted = true;
        }
        ++figures.rejected_calls[slot];
        work.add_reply(conn.context, refusal);
        if (silent)
          work.silence_from(work.size() - 1);
        continue;
      }
    }
    if (conn.transaction.active && queued_in_transaction(self, conn, argv, spec, work)) {
      if (silent)
        work.silence_from(work.size() - 1);
      continue;
    }
    auto [first_record, rejected] =
      run_command(self, conn, argv, spec, slot, work, size - request_start);
    if (spec != nullptr) {
      if (!rejected && keep) {
        auto length = pos - request_start;
        if (copied_at == no_copy && size <= slow_log_request_bytes)
          copied_at = work.keep_requests({data, size});
        if (copied_at != no_copy)
          work.kept_request(first_record, copied_at + request_start, length);
        else if (length <= slow_log_request_bytes)
          work.keep_request(first_record, std::string_view{data + request_start, length});
        else
          work.keep_args(first_record, argv);
      }
    }
    if (silent)
      work.silence_from(first_record);
  }
  return pos;
}

} // namespace

// Secrets redacted as Redis redacts them in SLOWLOG and MONITOR: AUTH's arguments, HELLO's AUTH pair, and the passwords CONFIG SET names.
void redact_secrets(std::string_view command, std::vector<std::string>& args) {
  static const std::string redacted = "(redacted)";
  using commands::equals_ignoring_case;
  if (command == "auth") {
    for (std::size_t i = 1; i < args.size(); ++i)
      args[i] = redacted;
  } else if (command == "hello") {
    // HELLO protover AUTH username password [SETNAME name]
    for (std::size_t i = 2; i < args.size(); ++i)
      if (equals_ignoring_case(args[i], "auth")) {
        for (std::size_t k = i + 1; k <= i + 2 && k < args.size(); ++k)
          args[k] = redacted;
        break;
      }
  } else if (command == "config" && args.size() > 1
             && equals_ignoring_case(args[1], "set")) {
    for (std::size_t i = 2; i + 1 < args.size(); i += 2)
      if (equals_ignoring_case(args[i], "requirepass")
          || equals_ignoring_case(args[i], "masterauth"))
        args[i + 1] = redacted;
  }
}

void leave_subscriptions_and_monitor(gateway_actor* self, connection& conn) {
  auto& st = self->state;
  if (st.config.subscriptions) {
    // Sent with this gateway as the sender (the broker files subscribers under
    // it), and the broker's acknowledgement is not waited for.
    auto drop = [&](auto what) {
      self->request(st.config.subscriptions, caf::infinite, what, conn.context.tag,
                    std::vector<std::string>{})
        .then([](bool) {}, [](caf::error&) {});
    };
    if (!conn.channels.empty())
      drop(subscription_broker::unsubscribe_atom::value);
    if (!conn.patterns.empty())
      drop(subscription_broker::punsubscribe_atom::value);
    if (!conn.shard_channels.empty())
      drop(subscription_broker::sunsubscribe_atom::value);
  }
  conn.channels.clear();
  conn.patterns.clear();
  conn.shard_channels.clear();
  if (conn.monitoring) {
    auto& monitors = st.monitors;
    monitors.erase(std::remove(monitors.begin(), monitors.end(), conn.context.tag),
                   monitors.end());
    conn.monitoring = false;
  }
}

void close_client(gateway_actor* self, connection_map::iterator it) {
  if (it == self->state.connections.end())
    return;
  self->close(it->second.handle);
  forget(self, it);
}

void pause_clients(gateway_actor* self, std::int64_t ms, bool all) {
  auto& st = self->state;
  auto until = shard::unix_now_ms() + ms;
  bool running = st.paused_until_ms != 0;
  st.pause_all = (running && st.pause_all) || all;
  st.paused_until_ms = std::max(st.paused_until_ms, until);
  self->delayed_send(self, std::chrono::milliseconds{ms}, unpause_atom::value);
}

void unpause_clients(gateway_actor* self) {
  auto& st = self->state;
  st.paused_until_ms = 0;
  st.pause_all = false;
  std::vector<std::uint64_t> held;
  for (const auto& [handle, conn] : st.connections)
    if (conn.waiting_for_pause)
      held.push_back(conn.context.tag);
  resume_held_clients(self, held, &connection::waiting_for_pause);
}

void hold_keys(gateway_actor* self, const std::vector<std::string>& keys) {
  for (const auto& key : keys)
    ++self->state.held_keys[key];
}

void release_keys(gateway_actor* self, const std::vector<std::string>& keys) {
  auto& st = self->state;
  for (const auto& key : keys) {
    auto it = st.held_keys.find(key);
    if (it != st.held_keys.end() && --it->second == 0)
      st.held_keys.erase(it);
  }
  // A script's call waiting for these keys goes first (it may wait again).
  if (st.script_deferred_call) {
    auto call = std::move(st.script_deferred_call);
    st.script_deferred_call = nullptr;
    call();
  }
  // Every waiting client looks again; one that still names a held key waits
  // again.
  auto waiting = std::move(st.key_waiters);
  st.key_waiters.clear();
  resume_held_clients(self, waiting, &connection::waiting_for_keys);
  resume_front_requests(self);
}

void resume_input(gateway_actor* self, std::uint64_t tag) {
  auto& st = self->state;
  auto it = find_client(st, tag);
  if (it == st.connections.end()) {
    // Gone while its EXEC ran: the rest of the transaction still runs.
    auto gone = st.finishing_execs.find(tag);
    if (gone == st.finishing_execs.end())
      return;
    gone->second.waiting_for_step = false;
    run_queued(self, gone->second, current_plan(self));
    // (What run_queued set off may have added records: look again.)
    gone = st.finishing_execs.find(tag);
    if (gone != st.finishing_execs.end() && !gone->second.exec.active)
      st.finishing_execs.erase(gone);
    return;
  }
  it->second.waiting_for_step = false;
  if (it->second.exec.active) {
    run_queued(self, it->second, current_plan(self));
    if (it->second.waiting_for_step)
      return;
  }
  consume_held_input(self, it->second);
}

namespace {

void on_data(gateway_actor* self, caf::io::new_data_msg& msg) {
  auto& st = self->state;
  auto it = st.connections.find(msg.handle.id());
  if (it == st.connections.end())
    return;
  auto& conn = it->second;
  if (conn.closing)
    return; // nothing more is read from a client that is being closed
  conn.last_active_ms = shard::unix_now_ms();
  st.figures.net_input_bytes += static_cast<std::int64_t>(msg.buf.size());
  ++st.figures.reads_processed;
  const char* data = msg.buf.data();
  std::size_t size = msg.buf.size();
  std::string plain;
  if (conn.tls) {
    // TLS: the records become plaintext (and handshake replies go back).
    std::string wire, error;
    bool ok = conn.tls->receive(data, size, plain, wire, error);
    if (!wire.empty()) {
      self->write(conn.handle, wire.size(), wire.data());
      self->flush(conn.handle);
    }
    if (!ok) {
      // A client that fails its handshake (or breaks the protocol) is closed
      // alone.
      ++st.figures.tls_failures;
      close_client(self, it);
      return;
    }
    data = plain.data();
    size = plain.size();
    if (size == 0)
      return;
  }
  if (conn.input.empty()) {
    // Common case: parse straight from CAF's buffer, keep only an incomplete tail.
    auto used = consume(self, conn, data, size);
    if (used < size && !conn.closing)
      conn.input.assign(data + used, size - used);
  } else {
    conn.input.append(data, size);
    auto used = consume(self, conn, conn.input.data(), conn.input.size());
    conn.input.erase(0, used);
    release_if_large(conn.input); // after a large value, as Redis's query buffer
  }
  if (conn.input.size() > max_query_buffer) {
    // Redis's behaviour: the client is closed, nobody else notices.
    conn.input.clear();
    conn.input.shrink_to_fit();
    conn.closing = true;
    if (conn.unanswered == 0) {
      self->close(conn.handle);
      forget(self, it);
    }
  }
}


// Counts what command `index` of `work` cost and answered (INFO commandstats
// and errorstats) and logs it when it was slow (SLOWLOG); `reply` is what it
// answered.
void account(gateway_actor* self, const connection& conn, const commands::plan& work,
             std::size_t index, std::string_view reply) {
  auto& figures = self->state.figures;
  bool error = !reply.empty() && reply.front() == '-';
  if (error)
    figures.count_error(reply);
  auto command = work.command_of(index);
  if (command == commands::plan::no_command || work.rejected(index))
    return;
  if (error)
    ++figures.failed_calls[command];
  auto nanos = work.nanos_of(index);
  figures.nanos[command] += static_cast<std::int64_t>(nanos);
  const auto& limits = self->state.config.settings->limits;
  if (limits.latency_tracking) {
    auto& histogram = figures.latency[command];
    if (!histogram)
      histogram = std::make_shared<latency_histogram>();
    histogram->record(nanos);
  }
  auto micros = static_cast<std::int64_t>(nanos / 1000);
  const auto& spec = *commands::stat_slots()[command].command;
  // EXEC's own time holds its queued commands', which are logged one by one
  // (Redis's skip-slowlog flag on EXEC).
  if (std::string_view{spec.name} == "exec")
    return;
  if (self->state.config.latency->wants(micros / 1000))
    self->state.config.latency->record(
      (spec.flags & commands::flag::fast) != 0 ? "fast-command" : "command", micros / 1000,
      shard::unix_now_ms() / 1000);
  if (limits.slowlog_log_slower_than < 0 || micros < limits.slowlog_log_slower_than)
    return;
  auto args = work.args_of(index);
  if (args.empty())
    return;
  redact_secrets(spec.name, args);
  slow_entry entry{0, shard::unix_now_ms() / 1000, micros, std::move(args), conn.addr,
                   conn.name};
  self->state.config.slowlog->add(std::move(entry), limits.slowlog_max_len);
}

// Writes the replies of every finished plan at the head of the queue, in order.
void drain(gateway_actor* self) {
  auto& st = self->state;
  auto renderer = [self](std::string& out, std::string_view section,
                         const commands::keyspace_totals& totals) {
    render(self, out, section, totals);
  };
  commands::info_renderer info{renderer};
  while (!st.in_flight.empty() && st.in_flight.front().work->complete()) {
    auto& work = *st.in_flight.front().work;
    std::uint64_t last_client = ~std::uint64_t{0};
    connection* conn = nullptr;
    for (std::size_t i = 0; i < work.size(); ++i) {
      auto client = work.client_of(i);
      if (client != last_client) {
        auto it = find_client(st, client);
        conn = it == st.connections.end() ? nullptr : &it->second;
        last_client = client;
        if (conn != nullptr && conn->output.empty())
          st.touched.push_back(client);
      }
      if (conn == nullptr)
        continue; // the client left; its replies go nowhere
      auto written = conn->output.size();
      work.write_reply(i, conn->output, info);
      --conn->unanswered;
      account(self, *conn, work, i, std::string_view{conn->output}.substr(written));
    }
    auto spare = work.take_request_buffer();
    if (spare.capacity() > st.spare_requests.capacity()
        && spare.capacity() <= retained_buffer_bytes)
      st.spare_requests = std::move(spare);
    st.in_flight.pop_front();
  }
  for (auto client : st.touched) {
    auto it = find_client(st, client);
    if (it == st.connections.end())
      continue;
    auto& conn = it->second;
    if (conn.unanswered == 0 && !conn.deferred_pushes.empty()) {
      conn.output += conn.deferred_pushes;
      conn.deferred_pushes.clear();
    }
    if (!conn.output.empty()) {
      write_out(self, conn, conn.output);
      conn.output.clear();
      release_if_large(conn.output);
      if (enforce_output_limit(self, it))
        continue;
    }
    if (conn.closing && conn.unanswered == 0) {
      self->close(conn.handle);
      forget(self, it);
    }
  }
  st.touched.clear();
}

// Runs the steps waiting for plan `id`'s shards (before its replies are written).
void run_after_shards(gateway_actor* self, std::uint64_t id) {
  auto& pending = self->state.after_shards;
  auto it = pending.find(id);
  if (it == pending.end())
    return;
  auto steps = std::move(it->second);
  pending.erase(it);
  for (auto& step : steps)
    step();
}

} // namespace

// Tells the engine manager this gateway has switched to the new entry engine,
// once nothing of it can still reach the old one. A plan already built on the old
// engine but not sent yet counts as well: acknowledging before it went out would
// let the manager retire the old shards while that plan is on its way to them,
// and a shard that ends with a request in hand never answers it.
void acknowledge_switch(gateway_actor* self) {
  auto& st = self->state;
  if (auto generation = st.dispatcher.take_acknowledgement(st.building.get()))
    self->send(st.config.manager, engine_manager::applied_atom::value, generation);
}

bool prepare_for_shards(gateway_actor* self, commands::plan& work) {
  auto& st = self->state;
  if (st.config.notify && shard::recorded_classes(st.config.notify->load()) != 0)
    work.order_group_events(true);
  bool watching = !st.watched_keys.empty();
  if (watching)
    work.report_evictions();
  return watching;
}

void plan_progressed(gateway_actor* self, std::uint64_t id) {
  auto& st = self->state;
  if (!st.in_flight.empty() && id == st.in_flight.front().id)
    drain(self);
  acknowledge_switch(self);
}

commands::plan* find_plan(gateway_actor* self, std::uint64_t id) {
  auto& st = self->state;
  // A reply can be filled while its plan is still being built (a stepped
  // command that ends before it sends anything: DEBUG POPULATE 0).
  if (st.building && id == st.building_id)
    return st.building.get();
  auto& queue = st.in_flight;
  if (queue.empty() || id < queue.front().id || id - queue.front().id >= queue.size())
    return nullptr;
  return queue[id - queue.front().id].work.get();
}

// Hands the plan of this I/O cycle to the dispatcher; its replies are written in
// the order plans were made (in_flight), whenever their shards have answered.
void dispatch(gateway_actor* self) {
  auto& st = self->state;
  if (!st.building)
    return;
  auto id = st.building_id;
  auto work = std::move(st.building);
  st.in_flight.push_back(plan_in_flight{id, work});
  bool watching = prepare_for_shards(self, *work);
  st.dispatcher.submit(self, std::move(work),
                       [self, id, watching](const commands::plan_ptr& done) {
                         if (watching)
                           touch_evicted_keys(self, *done);
                         run_after_shards(self, id);
                         plan_progressed(self, id);
                       });
  drain(self); // plans without shard work (PING, errors) are complete already
  acknowledge_switch(self);
}

namespace {

// Writes a published message to each target connection: `message` for channel
// subscribers, `pmessage` (with the pattern) for pattern subscribers.
void deliver(gateway_actor* self, const std::vector<std::uint64_t>& targets,
             const std::string* pattern, const std::string& channel,
             const std::string& message, bool sharded = false) {
  auto& st = self->state;
  for (auto tag : targets) {
    auto it = find_client(st, tag);
    if (it == st.connections.end())
      continue;
    auto& conn = it->second;
    std::string push;
    protocol::reply_writer out{push, conn.context.resp_version};
    out.push(pattern ? 4 : 3);
    out.bulk(pattern ? "pmessage" : sharded ? "smessage" : "message");
    if (pattern)
      out.bulk(*pattern);
    out.bulk(channel);
    out.bulk(message);
    if (conn.unanswered > 0)
      conn.deferred_pushes += push;
    else
      write_out(self, conn, push);
    enforce_output_limit(self, it);
  }
}

// INFO's instantaneous_ops_per_sec and _kbps: the counters' change since the
// last sample (once a second, on the tick), per second.
void sample_rates(gateway_actor* self) {
  auto& st = self->state;
  auto& f = st.figures;
  auto now = shard::unix_now_ms();
  auto& last = st.last_sample;
  if (now > last.at_ms) {
    auto seconds = static_cast<double>(now - last.at_ms) / 1000.0;
    // CONFIG RESETSTAT may have zeroed a counter since: never a negative rate.
    auto per_second = [&](std::int64_t now_count, std::int64_t then) {
      return now_count >= then ? static_cast<double>(now_count - then) / seconds : 0.0;
    };
    f.ops_per_sec = per_second(f.commands_processed, last.commands);
    f.input_kbps = per_second(f.net_input_bytes, last.input_bytes) / 1024.0;
    f.output_kbps = per_second(f.net_output_bytes, last.output_bytes) / 1024.0;
  }
  last = {now, f.commands_processed, f.net_input_bytes, f.net_output_bytes};
}

// Redis's `timeout`: a client idle that long is closed, unless it is subscribed
// or still owed replies.
void close_idle(gateway_actor* self) {
  auto& st = self->state;
  auto timeout = st.config.settings->limits.timeout_seconds;
  if (timeout <= 0)
    return;
  auto now = shard::unix_now_ms();
  std::vector<std::uint64_t> idle; // map keys (handle ids)
  for (const auto& [key, conn] : st.connections)
    if (!conn.subscribed() && conn.unanswered == 0 && !conn.closing
        && now - conn.last_active_ms >= timeout * 1000)
      idle.push_back(key);
  for (auto key : idle) {
    auto it = st.connections.find(key);
    self->close(it->second.handle);
    forget(self, it);
  }
}

caf::behavior resp_gateway(gateway_actor* self, gateway_config config,
                           caf::io::doorman_ptr listener,
                           caf::io::doorman_ptr tls_listener) {
  auto& st = self->state;
  for (auto* per_command : {&st.figures.calls, &st.figures.rejected_calls,
                            &st.figures.failed_calls, &st.figures.nanos})
    per_command->assign(commands::stat_slots().size(), 0);
  st.figures.latency.resize(commands::stat_slots().size());
  st.last_sample.at_ms = shard::unix_now_ms(); // the first rate covers the first second
  self->delayed_send(self, tick_interval, tick_atom::value);
  st.config = std::move(config);
  if (!st.config.databases)
    st.config.databases = std::make_shared<engine::database_map>();
  if (st.config.users) {
    st.users = std::move(*st.config.users);
    st.config.users.reset();
  }
  // The users from the aclfile or `user` lines say the default user's
  // password; requirepass changes it only when CONFIG SET changes it.
  st.applied_requirepass = st.config.settings->limits.requirepass;
  if (!st.config.users_configured)
    st.users.set_default_password(st.applied_requirepass);
  st.dispatcher = commands::plan_dispatcher<gateway_actor>{st.config.routing};
  // Clients are accepted only once the engine manager knows this router: it must
  // not retire an engine this gateway might still send to. Until then they wait
  // in the listen backlog.
  self->request(st.config.manager, caf::infinite,
                engine_manager::subscribe_atom::value,
                caf::actor_cast<caf::actor>(self))
    .then([self, listener, tls_listener](engine::routing_ptr& snapshot) mutable {
      self->state.dispatcher.update(std::move(snapshot));
      acknowledge_switch(self);
      self->add_doorman(std::move(listener));
      if (tls_listener) {
        self->state.tls_accept = tls_listener->hdl();
        self->add_doorman(std::move(tls_listener));
      }
    });
  if (st.config.cluster)
    self->send(st.config.cluster, cluster::watch_atom::value, caf::actor_cast<caf::actor>(self));
  return {
    [self](cluster::view_atom, cluster::view_ptr& view) {
      self->state.cluster_view = std::move(view);
    },
    [self](engine_manager::routing_atom, engine::routing_ptr& snapshot) {
      self->state.dispatcher.update(std::move(snapshot));
      acknowledge_switch(self);
    },
    [self](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      if (static_cast<std::int64_t>(st.connections.size())
          >= st.config.settings->limits.maxclients) {
        // Redis's answer to one client too many: an error, then the door.
        static constexpr std::string_view refusal
          = "-ERR max number of clients reached\r\n";
        self->write(msg.handle, refusal.size(), refusal.data());
        self->flush(msg.handle);
        self->close(msg.handle);
        ++st.figures.rejected_connections;
        return;
      }
      auto id = msg.handle.id();
      auto& conn = st.connections[id];
      conn.handle = msg.handle;
      if (st.tls_accept && msg.source == *st.tls_accept && st.config.tls)
        conn.tls = std::make_shared<tls::session>(st.config.tls);
      conn.serial = ++st.last_serial;
      conn.context.tag = (conn.serial << 32) | static_cast<std::uint32_t>(id);
      st.tags_by_serial[conn.serial] = conn.context.tag;
      conn.context.databases = st.config.databases.get();
      conn.context.db = st.config.databases->physical(0);
      start_as_default(self, conn);
      if (!conn.authenticated)
        track_output(self, conn);
      conn.created_ms = conn.last_active_ms = shard::unix_now_ms();
      conn.addr = self->remote_addr(msg.handle) + ":"
                  + std::to_string(self->remote_port(msg.handle));
      conn.laddr = st.config.facts->bind + ":" + std::to_string(st.config.facts->tcp_port);
      ++st.figures.connections_received;
      if (st.config.settings->limits.protected_mode && needs_no_auth(conn.user)
          && !is_loopback(self->remote_addr(msg.handle))) {
        // Protected mode: with no password, only loopback clients are served.
        write_out(self, conn, protected_mode_refusal);
        ++st.figures.rejected_connections;
        close_client(self, st.connections.find(id));
        return;
      }
      self->configure_read(msg.handle,
                           caf::io::receive_policy::at_most(read_chunk));
    },
    [self](caf::io::new_data_msg& msg) { on_data(self, msg); },
    [self](const caf::io::connection_closed_msg& msg) {
      // Replies still in flight for this client are dropped when they arrive.
      auto& st = self->state;
      auto it = st.connections.find(msg.handle.id());
      if (it != st.connections.end())
        forget(self, it);
    },
    [self](const caf::io::data_transferred_msg& msg) {
      auto& st = self->state;
      auto it = st.connections.find(msg.handle.id());
      if (it == st.connections.end())
        return;
      auto& conn = it->second;
      conn.unsent -= static_cast<std::int64_t>(msg.written);
      if (conn.unsent < 0)
        conn.unsent = 0; // writes queued before tracking began
      if (enforce_output_limit(self, it))
        return;
      if (conn.unsent == 0)
        release_socket_buffer(self, conn);
      // Drained: a normal client goes back to the untracked fast path.
      if (conn.unsent == 0 && conn.authenticated && !conn.subscribed()
          && !conn.reading_paused) {
        conn.tracking_output = false;
        self->ack_writes(conn.handle, false);
      }
    },
    [self](subscription_broker::deliver_atom, const std::vector<std::uint64_t>& targets,
           const std::string& channel, const std::string& message) {
      deliver(self, targets, {}, channel, message);
    },
    [self](subscription_broker::sdeliver_atom, const std::vector<std::uint64_t>& targets,
           const std::string& channel, const std::string& message) {
      deliver(self, targets, nullptr, channel, message, true);
    },
    [self](subscription_broker::pdeliver_atom, const std::vector<std::uint64_t>& targets,
           const std::string& pattern, const std::string& channel,
           const std::string& message) {
      deliver(self, targets, &pattern, channel, message);
    },
    [self](subscription_broker::invalidated_atom,
           subscription_broker::invalidation_delivery& delivery) {
      deliver_invalidations(self, delivery);
    },
    [self](const caf::io::acceptor_closed_msg&) {
      // The listener is gone; serve the open connections until they leave.
    },
    [self](dispatch_atom) { dispatch(self); },
    [self](shard::woken_atom, std::uint64_t tag, std::uint64_t serial, std::string& key,
           std::string& reply, std::uint8_t end) {
      on_woken(self, tag, serial, std::move(key), std::move(reply), end);
    },
    [self](block_timeout_atom, std::uint64_t tag, std::uint64_t serial) {
      on_block_timeout(self, tag, serial);
    },
    [self](script_busy_atom, std::uint64_t serial) { script_turned_busy(self, serial); },
    [self](scripting::acl_check_atom, const std::vector<std::string>& words) {
      return script_acl_check(self, words);
    },
    [self](scripting::call_atom, std::vector<std::string>& words, bool writes_allowed,
           bool allow_oom, int resp) {
      return plan_script_command(self, std::move(words), writes_allowed, allow_oom, resp);
    },
    [self](commands::sequence_atom, std::vector<std::vector<std::string>>& commands,
           bool transaction) {
      return plan_front_request(self, std::move(commands), transaction);
    },
    [self](unpause_atom) {
      // The end of a pause, unless a longer one replaced it (which sent its
      // own wake-up) or CLIENT UNPAUSE ended it already.
      auto& st = self->state;
      if (st.paused_until_ms == 0)
        return;
      auto left = st.paused_until_ms - shard::unix_now_ms();
      if (left <= 0)
        unpause_clients(self);
      else // a timer a little early, or a longer pause: look again then
        self->delayed_send(self, std::chrono::milliseconds{left}, unpause_atom::value);
    },
    [self](tick_atom) {
      if (!self->state.cron_paused) {
        sample_rates(self);
        close_idle(self);
      }
      self->delayed_send(self, tick_interval, tick_atom::value);
    },
  };
}

} // namespace

caf::expected<listener> listen(caf::actor_system& system, const std::string& bind,
                               std::uint16_t port) {
  auto socket = system.middleman().backend().new_tcp_doorman(port, bind.c_str(), true);
  if (!socket)
    return std::move(socket.error());
  auto bound = (*socket)->port();
  return listener{std::move(*socket), bound};
}

caf::actor spawn_gateway(caf::actor_system& system, gateway_config config,
                         listener socket, std::optional<listener> tls_socket) {
  if (!config.slowlog)
    config.slowlog = std::make_shared<slow_log>();
  if (!config.latency)
    config.latency = std::make_shared<metrics::latency_monitor>();
  caf::io::doorman_ptr tls_listener;
  if (tls_socket)
    tls_listener = std::move(tls_socket->socket);
  return system.middleman().spawn_broker(resp_gateway, std::move(config),
                                         std::move(socket.socket), std::move(tls_listener));
}

} // namespace stairkv::gateway
