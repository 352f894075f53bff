#include "modules/persistence/aof.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <algorithm>
#include <unordered_map>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

#include "modules/persistence/framing.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/shard/clock.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::persistence {

namespace {

using flush_atom = caf::atom_constant<caf::atom("aofflush")>;
using tick_atom = caf::atom_constant<caf::atom("aoftick")>;
using begin_anyway_atom = caf::atom_constant<caf::atom("rwanyway")>;

// How long a rewrite waits at most for the groups open when it was asked for.
constexpr std::chrono::seconds group_close_limit{1};

constexpr std::chrono::seconds tick_interval{1};

} // namespace

void sync_directory(const std::string& file) {
  auto slash = file.rfind('/');
  auto dir = slash == std::string::npos ? std::string{"."} : file.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

namespace {

struct writer_state {
  int fd = -1;
  std::string path;
  int auto_percentage = 100;
  std::int64_t auto_min_size = 0;
  std::int64_t base_size = 0;  // after the last rewrite (or at start)
  caf::actor rewriter;         // asked for a rewrite when the file outgrows its base
  bool rewrite_asked = false;
  bool capturing = false;      // a rewrite runs: keep a copy of every append
  std::string tail;
  // Groups (GroupShare) of which only some shares have come, with the weight
  // seen so far. A rewrite starts only when none is open: a group's shares
  // then all lie before the rewrite's snapshot, or all in the copy after it,
  // and the new file holds it whole.
  std::unordered_map<std::uint64_t, std::uint64_t> open_groups;
  std::vector<caf::response_promise> begin_waiting;
  fsync_policy policy = fsync_policy::everysec;
  status_ptr figures;
  std::function<void(const std::string&)> log;
  metrics::latency_monitor_ptr latency;
  std::string pending;  // appended, not written yet
  std::vector<caf::response_promise> waiting; // appenders waiting for the round
  std::int64_t good_size = 0; // the file's length up to the last complete write
  bool flush_scheduled = false;
  bool unsynced = false; // written since the last fsync
  bool failing = false;

  ~writer_state() {
    if (fd >= 0)
      ::close(fd);
  }

  // Takes one shard's frames: counted for the groups, kept for the rewrite,
  // queued for the next round.
  void take(const std::string& frames) {
    visit_group_shares(frames, [this](std::uint64_t group, std::uint64_t weight) {
      auto& seen = open_groups[group];
      seen += weight;
      if (seen >= whole_group)
        open_groups.erase(group);
    });
    if (capturing)
      tail += frames;
    pending += frames;
    if (!begin_waiting.empty() && open_groups.empty())
      begin_capture();
  }

  void begin_capture() {
    capturing = true;
    tail.clear();
    for (auto& p : begin_waiting)
      p.deliver(true);
    begin_waiting.clear();
  }

  void note_failure(const char* what) {
    auto err = errno;
    figures->aof_last_errno.store(err, std::memory_order_relaxed);
    figures->aof_write_ok.store(false, std::memory_order_relaxed);
    if (!failing && log)
      log(std::string{"AOF "} + what + " failed: " + std::strerror(err)
          + "; writes are refused until it succeeds");
    failing = true;
  }

  // One round: everything pending in one write, then (under `always`, or when
  // asked) one fdatasync; every waiting appender learns the outcome.
  void round(bool sync) {
    bool ok = true;
    if (!pending.empty()) {
      bool written;
      {
        metrics::latency_timer timing{latency, "aof-write"};
        written = write_all(fd, pending);
      }
      if (written) {
        good_size += static_cast<std::int64_t>(pending.size());
        pending.clear();
        unsynced = true;
        figures->aof_writes.fetch_add(1, std::memory_order_relaxed);
      } else {
        note_failure("write");
        // Cut a partly written record off again: the file must end on a whole
        // frame, or the next records would follow garbage. The bytes stay
        // pending and are written again on the next round.
        if (::ftruncate(fd, good_size) != 0 || ::lseek(fd, 0, SEEK_END) < 0)
          note_failure("truncate");
        ok = false;
      }
    }
    if (ok && unsynced && (sync || policy == fsync_policy::always)) {
      int synced;
      {
        metrics::latency_timer timing{
          latency, policy == fsync_policy::always ? "aof-fsync-always" : "aof-fsync"};
        synced = ::fdatasync(fd);
      }
      if (synced == 0) {
        unsynced = false;
        figures->aof_fsyncs.fetch_add(1, std::memory_order_relaxed);
      } else {
        note_failure("fsync");
        ok = false;
      }
    }
    if (ok && failing && pending.empty()) {
      failing = false;
      figures->aof_write_ok.store(true, std::memory_order_relaxed);
      if (log)
        log("AOF write succeeded again; writes are accepted");
    }
    figures->aof_current_size.store(good_size, std::memory_order_relaxed);
    if (auto_percentage > 0 && rewriter && !rewrite_asked && !capturing
        && good_size >= auto_min_size
        && good_size >= base_size + base_size * auto_percentage / 100) {
      rewrite_asked = true;
      caf::anon_send(rewriter, rewrite_request_atom::value);
    }
    for (auto& p : waiting)
      p.deliver(ok);
    waiting.clear();
  }
};

caf::behavior aof_writer(caf::event_based_actor* self, int fd, std::int64_t size,
                         aof_config config) {
  auto st = std::make_shared<writer_state>();
  st->fd = fd;
  st->path = config.path;
  st->auto_percentage = config.auto_rewrite_percentage;
  st->auto_min_size = config.auto_rewrite_min_size;
  st->base_size = size;
  st->good_size = size;
  st->policy = config.policy;
  st->figures = config.figures;
  st->latency = config.latency;
  st->log = config.log;
  auto me = caf::actor_cast<caf::actor>(self);
  auto schedule = [st, me] {
    if (st->flush_scheduled)
      return;
    st->flush_scheduled = true;
    // Behind every append already queued: they all join this round.
    caf::anon_send(me, flush_atom::value);
  };
  caf::delayed_anon_send(me, tick_interval, tick_atom::value);
  self->set_exit_handler([self, st](caf::exit_msg& msg) {
    st->round(true);
    self->quit(msg.reason);
  });
  return {
    [st, schedule](append_atom, std::string& frames) {
      st->take(frames);
      schedule();
    },
    [self, st, schedule](append_sync_atom, std::string& frames) -> caf::result<bool> {
      st->waiting.push_back(self->make_response_promise());
      st->take(frames);
      schedule();
      return caf::delegated<bool>{};
    },
    [st](rewrite_request_atom, caf::actor& rewriter) { st->rewriter = rewriter; },
    [self, st, me](rewrite_begin_atom) -> caf::result<bool> {
      st->begin_waiting.push_back(self->make_response_promise());
      if (st->open_groups.empty())
        st->begin_capture();
      else
        caf::delayed_anon_send(me, group_close_limit, begin_anyway_atom::value);
      return caf::delegated<bool>{};
    },
    [st](begin_anyway_atom) {
      if (st->begin_waiting.empty())
        return;
      // A share that never came (its shard stopped): nothing waits for it.
      if (st->log)
        st->log("AOF rewrite: " + std::to_string(st->open_groups.size())
                + " group(s) still open after a second; rewriting without them");
      st->open_groups.clear();
      st->begin_capture();
    },
    [st](rewrite_end_atom, std::string& temp, bool ok) {
      auto captured = std::exchange(st->tail, {});
      st->capturing = false;
      st->rewrite_asked = false;
      if (!ok) {
        ::unlink(temp.c_str());
        return false;
      }
      // The old file complete first, then the new one takes its place: what was
      // appended since the rewrite began follows the snapshot in it.
      st->round(true);
      int fd = ::open(temp.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      bool done = fd >= 0 && write_all(fd, captured) && ::fdatasync(fd) == 0;
      struct stat info {};
      done = done && ::fstat(fd, &info) == 0;
      if (done && ::rename(temp.c_str(), st->path.c_str()) != 0)
        done = false;
      if (!done) {
        if (st->log)
          st->log(std::string{"AOF rewrite failed: "} + std::strerror(errno));
        if (fd >= 0)
          ::close(fd);
        ::unlink(temp.c_str());
        return false;
      }
      sync_directory(st->path);
      ::close(st->fd);
      st->fd = fd;
      st->good_size = info.st_size;
      st->base_size = info.st_size;
      st->unsynced = false;
      st->figures->aof_base_size.store(info.st_size, std::memory_order_relaxed);
      st->figures->aof_current_size.store(info.st_size, std::memory_order_relaxed);
      return true;
    },
    [st](flush_atom) {
      st->flush_scheduled = false;
      st->round(false);
    },
    [st, me](tick_atom) {
      // everysec: one fsync a second at most; any policy: retry a failed write.
      if (st->policy == fsync_policy::everysec || st->failing)
        st->round(st->policy != fsync_policy::no);
      caf::delayed_anon_send(me, tick_interval, tick_atom::value);
    },
  };
}

} // namespace

bool parse_fsync_policy(std::string_view text, fsync_policy& out) {
  if (text == "always")
    out = fsync_policy::always;
  else if (text == "everysec")
    out = fsync_policy::everysec;
  else if (text == "no")
    out = fsync_policy::no;
  else
    return false;
  return true;
}

const char* to_string(fsync_policy p) {
  switch (p) {
    case fsync_policy::always:
      return "always";
    case fsync_policy::everysec:
      return "everysec";
    case fsync_policy::no:
      return "no";
  }
  return "everysec";
}

std::string status::refusal() const {
  if (!aof_write_ok.load(std::memory_order_relaxed))
    return std::string{"MISCONF Errors writing to the AOF file: "}
           + std::strerror(aof_last_errno.load(std::memory_order_relaxed));
  if (snapshots_required.load(std::memory_order_relaxed)
      && !last_bgsave_ok.load(std::memory_order_relaxed))
    return "MISCONF stairkv is configured to save snapshots, but it is currently "
           "unable to persist to disk. Commands that may modify the data set are "
           "disabled until a snapshot succeeds. Please check the log for details "
           "about the error.";
  return {};
}

caf::actor spawn_aof_writer(caf::actor_system& system, const aof_config& config) {
  int fd = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("can't open the append-only file " + config.path + ": "
                             + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    throw std::runtime_error("can't read the append-only file " + config.path + ": "
                             + std::strerror(errno));
  }
  std::int64_t size = info.st_size;
  if (size == 0) {
    auto header = file_header(shard::unix_now_ms());
    if (!write_all(fd, header) || ::fdatasync(fd) != 0) {
      auto err = errno;
      ::close(fd);
      throw std::runtime_error("can't write the append-only file " + config.path + ": "
                               + std::strerror(err));
    }
    size = static_cast<std::int64_t>(header.size());
  }
  config.figures->aof_enabled.store(true, std::memory_order_relaxed);
  config.figures->aof_base_size.store(size, std::memory_order_relaxed);
  config.figures->aof_current_size.store(size, std::memory_order_relaxed);
  return system.spawn<caf::detached>(aof_writer, fd, size, config);
}

load_result load_aof(const std::string& path,
                     const std::function<void(const AofRecord&)>& apply) {
  load_result result;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return result;
    result.outcome = load_outcome::corrupt;
    result.message = "can't open " + path + ": " + std::strerror(errno);
    return result;
  }
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      result.outcome = load_outcome::corrupt;
      result.message = "can't read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return result;
    }
    if (n == 0)
      break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  result.file_bytes = bytes.size();
  frame_reader reader{bytes};
  std::string_view payload;
  auto s = reader.next(payload);
  if (s == frame_status::end) {
    result.outcome = load_outcome::complete; // created, never written
    return result;
  }
  FileHeader header;
  if (s != frame_status::ok
      || !header.ParseFromArray(payload.data(), static_cast<int>(payload.size()))
      || header.magic() != file_magic) {
    result.outcome = load_outcome::corrupt;
    result.message = path + " is not a stairkv append-only file";
    return result;
  }
  if (header.format_version() < oldest_format_version
      || header.format_version() > format_version) {
    result.outcome = load_outcome::corrupt;
    result.message = path + " has format version " + std::to_string(header.format_version())
                     + "; this build reads versions "
                     + std::to_string(oldest_format_version) + " to "
                     + std::to_string(format_version);
    return result;
  }
  // First pass: how much of each group's weight the file holds. A group is
  // applied only when all of it is here; a crash between its shares leaves a
  // part that is skipped, now and on every later load (group numbers are
  // never reused).
  auto records_begin = reader.position();
  std::unordered_map<std::uint64_t, std::uint64_t> found;
  std::uint64_t group = 0, weight = 0;
  while ((s = reader.next(payload)) == frame_status::ok)
    if (read_share_header(payload, group, weight))
      found[group] += weight;
  auto records_end = reader.position();
  auto first_pass = s;
  // Second pass: apply, in file order.
  frame_reader again{std::string_view{bytes}.substr(0, records_end)};
  again.skip_to(records_begin);
  AofRecord record, inner;
  while ((s = again.next(payload)) == frame_status::ok) {
    if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))
        || record.change_case() == AofRecord::CHANGE_NOT_SET) {
      s = frame_status::corrupt;
      break;
    }
    if (!record.has_share()) {
      apply(record);
      ++result.records;
      continue;
    }
    if (found[record.share().group()] != whole_group) {
      ++result.partial_shares;
      continue;
    }
    frame_reader shares{record.share().records()};
    std::string_view change;
    auto inner_status = frame_status::ok;
    while ((inner_status = shares.next(change)) == frame_status::ok) {
      if (!inner.ParseFromArray(change.data(), static_cast<int>(change.size()))
          || inner.change_case() == AofRecord::CHANGE_NOT_SET || inner.has_share())
        break;
      apply(inner);
      ++result.records;
    }
    if (inner_status != frame_status::end) {
      s = frame_status::corrupt;
      break;
    }
  }
  if (s == frame_status::end)
    s = first_pass;
  result.good_bytes = s == frame_status::corrupt && first_pass != frame_status::corrupt
                        ? again.position()
                        : reader.position();
  if (s == frame_status::end) {
    result.outcome = load_outcome::complete;
    return result;
  }
  if (s == frame_status::torn) {
    result.outcome = load_outcome::truncated;
    result.message = "the append-only file " + path + " ends in an incomplete record ("
                     + std::to_string(result.file_bytes - result.good_bytes)
                     + " bytes at offset " + std::to_string(result.good_bytes)
                     + "); loaded the " + std::to_string(result.records)
                     + " records before it and cut the file there";
    if (::truncate(path.c_str(), static_cast<off_t>(result.good_bytes)) != 0)
      result.message += " (the cut failed: " + std::string{std::strerror(errno)} + ")";
    return result;
  }
  result.outcome = load_outcome::corrupt;
  result.message = "the append-only file " + path + " is damaged at offset "
                   + std::to_string(result.good_bytes) + ", after "
                   + std::to_string(result.records)
                   + " good records, with more data after the damage; refusing to "
                     "start rather than lose what follows (repair or move the file)";
  return result;
}

replay_step replay_step_of(const persistence::AofRecord& r, std::int64_t now) {
  replay_step step;
  switch (r.change_case()) {
    case AofRecord::kPut: {
      const auto& put = r.put();
      if (put.deadline_ms() != 0 && put.deadline_ms() <= now) {
        step.argv = {"DEL", put.key()};
      } else if (put.type() != 0) {
        step.restore = true;
        step.argv = {put.key(), put.value()};
        step.restored = shard::restore_args{put.deadline_ms(),
                                            static_cast<std::uint8_t>(put.type())};
      } else if (put.deadline_ms() != 0)
        step.argv = {"SET", put.key(), put.value(), "PXAT",
                     std::to_string(put.deadline_ms())};
      else
        step.argv = {"SET", put.key(), put.value()};
      step.db = static_cast<std::uint8_t>(put.db());
      break;
    }
    case AofRecord::kDel:
      step.argv = {"DEL", r.del()};
      break;
    case AofRecord::kDelIn:
      step.argv = {"DEL", r.del_in().key()};
      step.db = static_cast<std::uint8_t>(r.del_in().db());
      break;
    case AofRecord::kHashSet:
    case AofRecord::kHashDel:
    case AofRecord::kSetAdd:
    case AofRecord::kSetDel: {
      const char* command = r.has_hash_set() ? "HSET"
                            : r.has_hash_del() ? "HDEL"
                            : r.has_set_add() ? "SADD"
                                              : "SREM";
      const auto& change = r.has_hash_set()  ? r.hash_set()
                           : r.has_hash_del() ? r.hash_del()
                           : r.has_set_add()  ? r.set_add()
                                              : r.set_del();
      step.argv = {command, change.key()};
      step.db = static_cast<std::uint8_t>(change.db());
      values::packed_reader items{change.items()};
      std::string_view item;
      while (items.next(item))
        step.argv.emplace_back(item);
      if (step.argv.size() < 3)
        step.skip = true; // an empty change: nothing to replay
      break;
    }
    case AofRecord::kZsetAdd:
    case AofRecord::kZsetDel: {
      // ZADD takes score then member: the pairs turned around.
      bool add = r.has_zset_add();
      const auto& change = add ? r.zset_add() : r.zset_del();
      step.argv = {add ? "ZADD" : "ZREM", change.key()};
      step.db = static_cast<std::uint8_t>(change.db());
      values::packed_reader items{change.items()};
      std::string_view member, score;
      while (items.next(member)) {
        if (add) {
          if (!items.next(score))
            break;
          step.argv.emplace_back(score);
        }
        step.argv.emplace_back(member);
      }
      if (step.argv.size() < 3)
        step.skip = true;
      break;
    }
    case AofRecord::kList: {
      const auto& change = r.list();
      step.list = true;
      step.db = static_cast<std::uint8_t>(change.db());
      step.argv = {change.key(), change.items()};
      step.changed = shard::list_change_args{static_cast<std::uint8_t>(change.kind()),
                                             change.version(), change.a(), change.b()};
      break;
    }
    case AofRecord::kDeadline: {
      const auto& d = r.deadline();
      step.db = static_cast<std::uint8_t>(d.db());
      if (d.deadline_ms() == 0)
        step.argv = {"PERSIST", d.key()};
      else if (d.deadline_ms() <= now)
        step.argv = {"DEL", d.key()};
      else
        step.argv = {"PEXPIREAT", d.key(), std::to_string(d.deadline_ms())};
      break;
    }
    case AofRecord::kFlush:
      step.flush_shard = r.flush().shard();
      step.flush_stairs = std::max<std::uint32_t>(1, r.flush().stairs());
      if (r.flush().database() != 0) {
        step.flush_every_db = false;
        step.db = static_cast<std::uint8_t>(r.flush().database() - 1);
      }
      break;
    case AofRecord::kFunctions:
    case AofRecord::kDatabases: // read apart, as the functions are
    case AofRecord::CHANGE_NOT_SET:
    default:
      step.skip = true;
      break;
  }
  return step;
}

} // namespace stairkv::persistence
