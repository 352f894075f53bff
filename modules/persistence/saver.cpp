#include "modules/persistence/saver.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <sstream>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

#include "modules/persistence/journal.hpp"
#include "modules/protocol/number.hpp"
#include "modules/shard/clock.hpp"
#include "modules/shard/shard_actor.hpp"

namespace stairkv::persistence {

namespace {

using tick_atom = caf::atom_constant<caf::atom("savetick")>;

constexpr std::uint32_t chunk_keys = 1024;

std::int64_t unix_seconds() {
  return shard::unix_now_ms() / 1000;
}

enum class job_kind { none, snapshot, rewrite };

struct saver_state {
  saver_config config;
  job_kind running = job_kind::none;
  bool rewrite_queued = false;
  int fd = -1;
  std::string temp;
  bool failed = false;
  std::string failure;
  std::size_t shards_left = 0;
  std::int64_t changes_at_start = 0;
  std::chrono::steady_clock::time_point started;
  std::uint64_t serial = 0;
  std::vector<caf::response_promise> waiting; // SAVE callers

  ~saver_state() {
    if (fd >= 0)
      ::close(fd);
  }
};

using saver_ptr = std::shared_ptr<saver_state>;

void start(caf::event_based_actor* self, const saver_ptr& st, job_kind kind);

void log(const saver_ptr& st, const std::string& line) {
  if (st->config.log)
    st->config.log(line);
}

// Ends a job: the file in place (or dropped), the engine released, callers told.
void finish(caf::event_based_actor* self, const saver_ptr& st) {
  auto kind = st->running;
  auto& figures = *st->config.figures;
  bool ok = !st->failed;
  if (ok && st->config.databases) {
    journal numbering;
    numbering.databases(st->config.databases());
    if (!write_all(st->fd, numbering.take())) {
      ok = false;
      st->failure = std::strerror(errno);
    }
  }
  if (ok && (::fdatasync(st->fd) != 0)) {
    ok = false;
    st->failure = std::strerror(errno);
  }
  ::close(st->fd);
  st->fd = -1;
  self->send(st->config.manager, engine_manager::release_atom::value);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - st->started)
                .count();
  auto done = [self, st, kind, took](bool ok) {
    auto& figures = *st->config.figures;
    figures.job_started_ms.store(0, std::memory_order_relaxed);
    if (kind == job_kind::rewrite)
      figures.last_rewrite_seconds.store(took / 1000, std::memory_order_relaxed);
    if (kind == job_kind::snapshot) {
      figures.bgsave_in_progress.store(false, std::memory_order_relaxed);
      figures.last_bgsave_ok.store(ok, std::memory_order_relaxed);
    } else {
      figures.aof_rewrite_in_progress.store(false, std::memory_order_relaxed);
      figures.last_rewrite_ok.store(ok, std::memory_order_relaxed);
    }
    for (auto& p : st->waiting)
      p.deliver(std::string{ok ? "+OK\r\n" : "-ERR snapshot failed: " + st->failure + "\r\n"});
    st->waiting.clear();
    st->running = job_kind::none;
    if (st->rewrite_queued) {
      st->rewrite_queued = false;
      start(self, st, job_kind::rewrite);
    }
  };
  if (kind == job_kind::snapshot) {
    auto target = st->config.dir + "/" + st->config.dbfilename;
    if (ok && ::rename(st->temp.c_str(), target.c_str()) != 0) {
      ok = false;
      st->failure = std::strerror(errno);
    }
    if (ok) {
      sync_directory(target);
      figures.changes_since_save.fetch_sub(st->changes_at_start, std::memory_order_relaxed);
      figures.last_save_time.store(unix_seconds(), std::memory_order_relaxed);
      figures.last_bgsave_seconds.store(took / 1000, std::memory_order_relaxed);
      log(st, "DB saved on disk (" + std::to_string(took) + " ms)");
    } else {
      ::unlink(st->temp.c_str());
      log(st, "snapshot failed: " + st->failure);
    }
    done(ok);
    return;
  }
  // A rewrite: the writer appends what came meanwhile and swaps the files.
  self->request(st->config.aof_writer, caf::infinite, rewrite_end_atom::value, st->temp, ok)
    .then(
      [st, done, took](bool swapped) mutable {
        log(st, swapped ? "Background AOF rewrite finished successfully ("
                            + std::to_string(took) + " ms)"
                        : "Background AOF rewrite failed" +
                            (st->failure.empty() ? std::string{} : ": " + st->failure));
        done(swapped);
      },
      [done](caf::error&) mutable { done(false); });
}

// Asks one shard for its next chunk, writes it, and goes on until it is done.
void next_chunk(caf::event_based_actor* self, const saver_ptr& st,
                const shard::shard_actor& shard) {
  self->request(shard, caf::infinite, shard::snapshot_atom::value, chunk_keys)
    .then(
      [self, st, shard](std::string& frames, bool done) {
        metrics::latency_timer timing{st->config.latency, "snapshot-write"};
        if (!st->failed && !write_all(st->fd, frames)) {
          st->failed = true;
          st->failure = std::strerror(errno);
        }
        if (!done) {
          // Even after a failure the walk goes on to its end, so that the
          // shard's next snapshot starts from the beginning.
          next_chunk(self, st, shard);
          return;
        }
        if (--st->shards_left == 0)
          finish(self, st);
      },
      [self, st](caf::error&) {
        st->failed = true;
        st->failure = "a shard did not answer";
        if (--st->shards_left == 0)
          finish(self, st);
      });
}

void walk_shards(caf::event_based_actor* self, const saver_ptr& st) {
  self->request(st->config.manager, caf::infinite, engine_manager::hold_atom::value)
    .then(
      [self, st](engine::routing_ptr& routing) {
        st->started = std::chrono::steady_clock::now();
        st->changes_at_start =
          st->config.figures->changes_since_save.load(std::memory_order_relaxed);
        const auto& shards = routing->entry->shards;
        st->shards_left = shards.size();
        for (const auto& s : shards)
          next_chunk(self, st, s);
      },
      [self, st](caf::error&) {
        st->failed = true;
        st->failure = "the engine manager did not answer";
        finish(self, st);
      });
}

void start(caf::event_based_actor* self, const saver_ptr& st, job_kind kind) {
  st->running = kind;
  st->failed = false;
  st->failure.clear();
  auto& figures = *st->config.figures;
  (kind == job_kind::snapshot ? figures.bgsave_in_progress : figures.aof_rewrite_in_progress)
    .store(true, std::memory_order_relaxed);
  figures.job_started_ms.store(shard::unix_now_ms(), std::memory_order_relaxed);
  st->temp = st->config.dir + "/temp-" + std::to_string(::getpid()) + "-"
             + std::to_string(++st->serial) + ".stkv";
  st->fd = ::open(st->temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string head = file_header(shard::unix_now_ms());
  if (st->config.functions)
    if (auto codes = st->config.functions->get(); !codes.empty())
      head += function_libraries_frame(codes);
  if (st->fd < 0 || !write_all(st->fd, head)) {
    st->failed = true;
    st->failure = std::strerror(errno);
    if (st->fd < 0)
      st->fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  }
  if (kind == job_kind::snapshot) {
    log(st, "Background saving started");
    walk_shards(self, st);
    return;
  }
  log(st, "Background append only file rewriting started");
  self->request(st->config.aof_writer, caf::infinite, rewrite_begin_atom::value)
    .then([self, st](bool) { walk_shards(self, st); },
          [self, st](caf::error&) {
            st->failed = true;
            st->failure = "the AOF writer did not answer";
            walk_shards(self, st);
          });
}

// Temporary files of saves that a crash interrupted: never loaded, only in the way.
void remove_leftovers(const saver_ptr& st) {
  auto* dir = ::opendir(st->config.dir.c_str());
  if (dir == nullptr)
    return;
  while (auto* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.rfind("temp-", 0) == 0 && name.size() > 10
        && name.compare(name.size() - 5, 5, ".stkv") == 0) {
      ::unlink((st->config.dir + "/" + name).c_str());
      log(st, "removed " + name + ", left by an interrupted save");
    }
  }
  ::closedir(dir);
}

caf::behavior saver(caf::event_based_actor* self, saver_config config) {
  auto st = std::make_shared<saver_state>();
  st->config = std::move(config);
  remove_leftovers(st);
  st->config.figures->last_save_time.store(unix_seconds(), std::memory_order_relaxed);
  st->config.figures->snapshots_required.store(!st->config.rules.empty(),
                                               std::memory_order_relaxed);
  auto me = caf::actor_cast<caf::actor>(self);
  if (st->config.aof_writer)
    caf::anon_send(st->config.aof_writer, rewrite_request_atom::value, me);
  caf::delayed_anon_send(me, std::chrono::seconds{1}, tick_atom::value);
  return {
    [self, st](save_atom) -> caf::result<std::string> {
      if (st->running != job_kind::none)
        return std::string{"-ERR Background save already in progress\r\n"};
      st->waiting.push_back(self->make_response_promise());
      start(self, st, job_kind::snapshot);
      return caf::delegated<std::string>{};
    },
    [self, st](bgsave_atom) -> std::string {
      if (st->running != job_kind::none)
        return "-ERR Background save already in progress\r\n";
      start(self, st, job_kind::snapshot);
      return "+Background saving started\r\n";
    },
    [self, st](bgrewrite_atom) -> std::string {
      if (!st->config.aof_writer)
        return "-ERR the append only file is not enabled (appendonly no)\r\n";
      if (st->running == job_kind::rewrite)
        return "-ERR Background append only file rewriting already in progress\r\n";
      if (st->running != job_kind::none) {
        st->rewrite_queued = true;
        return "+Background append only file rewriting scheduled\r\n";
      }
      start(self, st, job_kind::rewrite);
      return "+Background append only file rewriting started\r\n";
    },
    [st](save_rules_atom, std::string& text) {
      save_rules rules;
      if (!parse_save_rules(text, rules))
        return;
      st->config.rules = std::move(rules);
      st->config.figures->snapshots_required.store(!st->config.rules.empty(),
                                                   std::memory_order_relaxed);
    },
    [self, st](rewrite_request_atom) {
      // The writer asks once and waits for a rewrite to end before it asks
      // again, so a request never goes unanswered: one that comes while a job
      // runs (even the rewrite whose end it has just seen) runs after it.
      if (st->running == job_kind::none)
        start(self, st, job_kind::rewrite);
      else
        st->rewrite_queued = true;
    },
    [self, st, me](tick_atom) {
      caf::delayed_anon_send(me, std::chrono::seconds{1}, tick_atom::value);
      if (st->running != job_kind::none)
        return;
      auto& figures = *st->config.figures;
      auto changes = figures.changes_since_save.load(std::memory_order_relaxed);
      auto since = unix_seconds() - figures.last_save_time.load(std::memory_order_relaxed);
      for (const auto& [seconds, wanted] : st->config.rules) {
        if (changes >= wanted && since >= seconds) {
          log(st, std::to_string(wanted) + " changes in " + std::to_string(seconds)
                    + " seconds. Saving...");
          start(self, st, job_kind::snapshot);
          return;
        }
      }
    },
  };
}

} // namespace

bool parse_save_rules(const std::string& text, save_rules& out) {
  std::istringstream in{text};
  std::vector<std::int64_t> numbers;
  std::string word;
  while (in >> word) {
    std::int64_t n = 0;
    if (!protocol::parse_int64(word, n) || n < 0)
      return false;
    numbers.push_back(n);
  }
  if (numbers.size() % 2 != 0)
    return false;
  save_rules rules;
  for (std::size_t i = 0; i < numbers.size(); i += 2)
    rules.emplace_back(numbers[i], numbers[i + 1]);
  out = std::move(rules);
  return true;
}

std::string to_string(const save_rules& rules) {
  std::string out;
  for (const auto& [seconds, changes] : rules) {
    if (!out.empty())
      out += ' ';
    out += std::to_string(seconds) + " " + std::to_string(changes);
  }
  return out;
}

caf::actor spawn_saver(caf::actor_system& system, saver_config config) {
  return system.spawn<caf::detached>(saver, std::move(config));
}

} // namespace stairkv::persistence
