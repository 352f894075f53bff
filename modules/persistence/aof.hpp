#pragma once

// The append-only file: the writer actor every shard hands its journal to, the
// link shards share, the figures INFO reports, and loading a file back.
//
// Group commit: a shard that must wait for durability (appendfsync always) sends
// its frames with append_sync_atom and answers its batch only when the writer
// confirms. The writer, an actor on its own thread (fsync blocks), collects every
// append that arrives, writes them with one write(2) and, under `always`, one
// fdatasync, then confirms them all; appends that arrive meanwhile wait in its
// mailbox for the next round. So one fsync serves every write of a round, and
// the more clients write, the more each fsync carries.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "modules/metrics/latency_monitor.hpp"
#include "modules/persistence/records.pb.h"
#include "modules/shard/batch.hpp"

namespace stairkv::persistence {

enum class fsync_policy : std::uint8_t { always, everysec, no };

bool parse_fsync_policy(std::string_view text, fsync_policy& out);
const char* to_string(fsync_policy p);

// (append_atom, std::string frames): write when convenient, no answer.
using append_atom = caf::atom_constant<caf::atom("aofappend")>;
// (append_sync_atom, std::string frames) -> bool: answered once the frames are
// written, and under `always` on disk; false when writing failed.
using append_sync_atom = caf::atom_constant<caf::atom("aofsync")>;
// Rewriting the file (see saver.hpp): (rewrite_begin_atom) -> bool starts keeping
// a copy of every append; (rewrite_end_atom, temp path, bool ok) -> bool appends
// that copy to the new file, puts it in the old one's place and goes on there
// (or, with ok false, drops the copy).
using rewrite_begin_atom = caf::atom_constant<caf::atom("rwbegin")>;
using rewrite_end_atom = caf::atom_constant<caf::atom("rwend")>;
// (rewrite_request_atom): sent by the writer to whoever it was told to (with
// (rewrite_request_atom, actor)) when the file has outgrown its last rewrite.
using rewrite_request_atom = caf::atom_constant<caf::atom("rwrequest")>;

// What INFO's persistence section reports, and what makes writes refused
// (MISCONF) while the file cannot be written. Shared by the writer, the shards
// and the gateways.
struct status {
  std::atomic<bool> aof_enabled{false};
  std::atomic<bool> loading{false};
  std::atomic<bool> aof_write_ok{true};
  std::atomic<int> aof_last_errno{0};
  std::atomic<std::int64_t> aof_current_size{0};
  std::atomic<std::int64_t> aof_base_size{0};
  std::atomic<std::int64_t> aof_delayed_fsync{0};
  std::atomic<std::int64_t> aof_fsyncs{0};
  std::atomic<std::int64_t> aof_writes{0};
  // Snapshots.
  std::atomic<std::int64_t> changes_since_save{0};
  std::atomic<std::int64_t> last_save_time{0}; // Unix seconds
  std::atomic<bool> bgsave_in_progress{false};
  std::atomic<bool> last_bgsave_ok{true};
  std::atomic<std::int64_t> last_bgsave_seconds{-1};
  // With `save` rules, a failed snapshot refuses writes until one succeeds
  // (Redis's stop-writes-on-bgsave-error).
  std::atomic<bool> snapshots_required{false};
  std::atomic<bool> aof_rewrite_in_progress{false};
  std::atomic<bool> last_rewrite_ok{true};
  std::atomic<std::int64_t> last_rewrite_seconds{-1};
  // When the snapshot or rewrite running now began (Unix ms; 0: none runs).
  std::atomic<std::int64_t> job_started_ms{0};

  // The error a write command gets while the file cannot be written, or "".
  std::string refusal() const;
};

using status_ptr = std::shared_ptr<status>;

// What every shard shares: where its journal goes and how. `enabled` is off
// while the file is being loaded (replayed changes are already in it).
struct aof_link {
  caf::actor writer;
  fsync_policy policy = fsync_policy::everysec;
  std::atomic<bool> enabled{false};
};

using aof_link_ptr = std::shared_ptr<aof_link>;

struct aof_config {
  std::string path;
  fsync_policy policy = fsync_policy::everysec;
  status_ptr figures;
  std::function<void(const std::string&)> log;
  // Automatic rewrite (Redis's auto-aof-rewrite-percentage and -min-size): when
  // the file has grown by `percentage` since its last rewrite (or since start)
  // and is at least `min_size` bytes. Percentage 0: never.
  int auto_rewrite_percentage = 100;
  std::int64_t auto_rewrite_min_size = 64 * 1024 * 1024;
  // Slow writes and fsyncs go here (LATENCY "aof-write", "aof-fsync-always",
  // "aof-fsync"); null: nowhere.
  metrics::latency_monitor_ptr latency;
};

// Opens (or creates, with its header) the file and spawns the writer on its own
// thread. Throws std::runtime_error when the file cannot be opened.
caf::actor spawn_aof_writer(caf::actor_system& system, const aof_config& config);

// -- files -----------------------------------------------------------------------

// Writes all of `bytes` to `fd`; false (errno set) on failure.
bool write_all(int fd, std::string_view bytes);

// fsyncs the directory holding `file`, so that a rename into it is durable.
void sync_directory(const std::string& file);

// -- loading ---------------------------------------------------------------------

enum class load_outcome {
  missing,   // no file: nothing to load
  complete,  // every record read
  truncated, // a torn tail was cut off (the file is shortened to its last good record)
  corrupt,   // damage before the end, or not a stairkv file: refuse to start
};

struct load_result {
  load_outcome outcome = load_outcome::missing;
  std::uint64_t records = 0;
  // Shares of groups the file does not hold whole (a crash between a
  // multi-shard plan's shards): skipped, with every change they held.
  std::uint64_t partial_shares = 0;
  std::uint64_t good_bytes = 0; // where the good records end
  std::uint64_t file_bytes = 0;
  std::string message;          // for the log
};

// Reads `path` and passes each record, in order, to `apply`. A torn tail is cut
// from the file itself, so that appending continues after the last good record.
load_result load_aof(const std::string& path,
                     const std::function<void(const AofRecord&)>& apply);

// One recorded change as what recreates it when a file is loaded: a command,
// or (argv empty) a FLUSHALL of one old shard's keys (flush_shard of a
// staircase of flush_stairs stairs). A key whose deadline has passed by `now`
// is deleted, never brought back.
struct replay_step {
  std::vector<std::string> argv;
  // A value of a type beyond strings, stored whole (a hash's snapshot
  // record): the loader routes op_code::restore with `restored` to the key's
  // shard, argv holding the key and the serialised value.
  bool restore = false;
  shard::restore_args restored;
  // A list change (ListChange): the loader routes op_code::list_replay with
  // `changed` to the key's shard, argv holding the key and the packed items.
  bool list = false;
  shard::list_change_args changed;
  // Nothing to replay here (the function libraries, which the loader reads
  // apart, or a record of a kind this build does not know).
  bool skip = false;
  std::uint32_t flush_shard = 0;
  std::uint32_t flush_stairs = 0;
  bool flush_every_db = true; // a FLUSHALL's scope, else database `db`'s
  // The shards' database of the change.
  std::uint8_t db = 0;
};

replay_step replay_step_of(const AofRecord& r, std::int64_t now);

} // namespace stairkv::persistence
