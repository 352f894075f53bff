#pragma once

// One client connection as its gateway keeps it, and the connection-level
// commands answered from it alone (AUTH, HELLO, CLIENT). Internal to the gateway.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/io/connection_handle.hpp>

#include "modules/acl/registry.hpp"
#include "modules/commands/command_table.hpp"
#include "modules/commands/plan.hpp"
#include "modules/gateway/settings.hpp"
#include "modules/protocol/request_parser.hpp"
#include "modules/tls/tls.hpp"

namespace stairkv::gateway {

struct pop_run; // blocking_commands.cpp

struct connection {
  caf::io::connection_handle handle;
  // The client id users see (CLIENT ID, HELLO), never reused. context.tag, which
  // plans and the broker carry, is (serial << 32 | handle id): unique as well, and
  // it finds the connection from the handle id the map is keyed by.
  std::uint64_t serial = 0;
  std::string input; // bytes received but not yet parsed into a command
  protocol::request_parser parser;
  commands::client_context context;
  // SELECT's number (context.db is the shards' database it names now).
  unsigned db = 0;
  std::string output; // replies assembled for the next write
  std::size_t unanswered = 0; // commands planned but not yet written back
  bool closing = false; // QUIT or protocol error: close once replies are out
  std::set<std::string> channels; // SUBSCRIBEd to
  std::set<std::string> patterns; // PSUBSCRIBEd to; either non-empty: subscribed mode
  std::set<std::string> shard_channels; // SSUBSCRIBEd to (subscribed mode too)
  // Published messages that arrived while replies were still owed: they go out
  // after those replies, never before a SUBSCRIBE's confirmation.
  std::string deferred_pushes;
  // Output accounting, on from the first SUBSCRIBE (CAF then reports every
  // completed socket write): bytes handed to the socket layer and not yet written,
  // and since when they exceed the soft limit (0: they do not).
  bool tracking_output = false;
  std::int64_t unsent = 0;
  std::int64_t over_soft_since_ms = 0;
  std::int64_t written_since_check = 0; // untracked: bytes since the last stall check
  bool reading_paused = false;          // back-pressure: requests not read for now
  // A multi-step command (RENAME, MSETNX) is running: this client's later
  // commands wait in `input` until it has finished, so that they see its effect.
  bool waiting_for_step = false;
  // Cluster mode: ASKING was sent (the next command may run on a slot being
  // imported), READONLY, and how many of the keys of the command being parsed
  // again this node holds (its slot is open; -1: not known).
  bool asking = false;
  bool readonly = false;
  std::int64_t presence = -1;
  // CLIENT PAUSE holds this client's next command (still in `input`).
  bool waiting_for_pause = false;
  // Its next command names a key a multi-step command holds (still in `input`).
  bool waiting_for_keys = false;
  // Another client's script runs: its next command waits (still in `input`).
  bool waiting_for_script = false;
  // What CLIENT LIST shows, and what AUTH and timeout act on.
  bool authenticated = true;
  // The ACL user it runs as (the default user until AUTH names another).
  acl::user_ptr user;
  // A client of the TLS port: what it sends is decrypted before it is
  // parsed, what it is sent encrypted as it is written.
  std::shared_ptr<tls::session> tls;
  std::string name;
  std::string addr;   // peer, "ip:port"
  std::string laddr;  // local end, "ip:port"
  std::int64_t created_ms = 0;
  std::int64_t last_active_ms = 0;
  // The last command run, for CLIENT LIST's cmd= (with its subcommand for the
  // containers CLIENT and CONFIG).
  const commands::command_spec* last_command = nullptr;
  std::string last_subcommand;
  // CLIENT REPLY: OFF silences every reply until ON; SKIP the next command's.
  bool replies_off = false;
  bool skip_next_reply = false;
  bool no_evict = false; // CLIENT NO-EVICT (shown as flag e)
  // MONITOR: every command of every client is shown to it; its pending
  // output is bounded by the pubsub class's limits, as a subscriber's.
  bool monitoring = false;
  // While one of its session commands runs (CLIENT LIST, CLIENT INFO): the
  // bytes of its query buffer from that command on, and the bytes of the
  // command's arguments (Redis's qbuf and argv-mem of the running client).
  std::size_t query_pending = 0;
  std::size_t argv_bytes = 0;
  // MULTI: the commands queued for EXEC, and whether queuing failed (EXEC then
  // aborts). The queue's bytes are capped by the query buffer limit.
  struct transaction_state {
    bool active = false;
    bool aborted = false;
    std::vector<std::vector<std::string>> queued;
    std::size_t queued_bytes = 0;
  } transaction;
  // An EXEC that reached a multi-step command (RENAME, MSETNX): the queued
  // commands still to run once that one has finished, and the keys the EXEC
  // holds meanwhile (every key of its commands), let go at its end.
  struct exec_state {
    bool active = false;
    std::vector<std::vector<std::string>> commands;
    std::size_t next = 0;
    std::vector<std::string> held;
  } exec;
  // WATCH: the keys, each with its deadline when it was watched (-2 missing,
  // -1 none, else Unix ms), and whether one was touched since.
  std::vector<std::pair<std::string, std::int64_t>> watching;
  bool watch_touched = false;
  // Touched by SWAPDB number `provisional_touch` alone, until its reads say
  // whether it had to be (database_commands.cpp); 0: not provisionally.
  std::uint64_t provisional_touch = 0;
  // A blocking pop waiting (gateway/blocking_commands.cpp), or null.
  std::shared_ptr<pop_run> blocked;
  // CLIENT TRACKING (tracking_commands.cpp).
  struct tracking_state {
    bool on = false;
    bool bcast = false;
    bool optin = false;
    bool optout = false;
    bool noloop = false;
    // CLIENT CACHING YES (optin) / NO (optout) said for the next command.
    bool caching = false;
    bool broken_redirect = false; // the client redirected to has gone
    std::uint64_t redirect = 0;   // the CLIENT ID invalidations go to; 0: here
    std::vector<std::string> prefixes; // BCAST's, in the order given
  } tracking;

  bool subscribed() const noexcept {
    return !channels.empty() || !patterns.empty() || !shard_channels.empty();
  }
};

using connection_map = std::unordered_map<std::uint64_t, connection>;
using args = std::vector<std::string_view>;

// Whether `argv` may run on `conn` before it authenticated; if not, `reply` is
// set to the error to answer instead.
bool allowed_before_auth(const connection& conn, const args& argv, std::string& reply);

// What AUTH or HELLO ... AUTH did: the reply, and the user named when the
// credentials were refused (for ACL LOG).
struct auth_result {
  auth_result(std::string r) : reply(std::move(r)) {} // NOLINT: a reply alone
  auth_result(std::string r, std::string refused_user)
    : reply(std::move(r)), refused(true), username(std::move(refused_user)) {}
  std::string reply;
  bool refused = false;
  std::string username;
};

// AUTH [username] password
auth_result auth_command(connection& conn, const acl::registry& users, const args& argv);

// HELLO [protover [AUTH username password] [SETNAME name]]; switches the
// connection's protocol on success.
auth_result hello_command(connection& conn, const acl::registry& users, const args& argv);

// Whether a connection logged in as `user` need not authenticate: the
// default user, on, with nopass.
bool needs_no_auth(const acl::user_ptr& user);

// The connection as CLIENT LIST describes it (one line, no newline).
std::string client_info(const connection& conn, std::int64_t now_ms);

// CLIENT ID | SETNAME | GETNAME | LIST [TYPE t] [ID id...] | INFO | REPLY | NO-EVICT
// (KILL is the gateway's: it closes other connections)
std::string client_command(connection& conn, const connection_map& all,
                           const args& argv, std::int64_t now_ms);

} // namespace stairkv::gateway
