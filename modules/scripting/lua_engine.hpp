#pragma once

// Lua 5.1 scripts as Redis runs them (EVAL, EVALSHA, SCRIPT, and Redis 7's
// functions): one interpreter with Redis's libraries (base, table, string,
// math, cjson, bit, cmsgpack), the `redis` table, Redis 7's conversions
// between Lua values and RESP2/RESP3 replies in both directions, and Redis 7's
// sandbox (sandbox.hpp: read-only globals and libraries). Scripts are compiled
// once and kept by their SHA1 until SCRIPT FLUSH.
//
// The engine runs on the thread that calls it, one script at a time; a
// script's redis.call and redis.pcall go through the `command_runner` given to
// run(), which must answer synchronously with the command's RESP2 reply.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct lua_State;

namespace stairkv::scripting {

// A command a script calls, as its arguments -> its reply, RESP2 bytes.
using command_runner = std::function<std::string(const std::vector<std::string>& argv)>;

// redis.acl_check_cmd(command, args...) asks the runner with this word in
// front of the command: the answer is ":1" (the script's user may run it),
// ":0" (it may not), or an error reply (no such command). No command has
// this name, so it never reaches the command table.
inline constexpr const char* acl_check_word = "\x01acl-check";

// What redis.log writes: its level (0 debug .. 3 warning) and message.
using log_sink = std::function<void(int level, const std::string& message)>;

// The 40 lower-case hex digits of the SHA1 of `bytes` (script names,
// redis.sha1hex).
std::string sha1_hex(std::string_view bytes);

class lua_engine {
public:
  explicit lua_engine(log_sink log = {});
  ~lua_engine();
  lua_engine(const lua_engine&) = delete;
  lua_engine& operator=(const lua_engine&) = delete;

  // Compiles `body` and keeps it under its SHA1 (`sha`), or leaves `error`
  // with Redis's message (no leading '-'). A body already kept is not
  // compiled again.
  bool load(std::string_view body, std::string& sha, std::string& error);

  bool exists(std::string_view sha) const;

  // What a script's "#!lua flags=..." first line says (Redis 7). A script
  // without that line runs as in Redis 6 (`shebang` false).
  struct script_flags {
    bool shebang = false;
    bool no_writes = false;
    bool allow_oom = false;
    bool no_cluster = false; // refused on a node in cluster mode
  };
  // The flags of kept script `sha`, or null.
  const script_flags* flags_of(std::string_view sha) const;
  // Reads the first line of `body`: its flags and the bytes to skip before
  // compiling, or false with Redis's error.
  static bool parse_shebang(std::string_view body, script_flags& flags, std::size_t& skip,
                            std::string& error);

  // SCRIPT FLUSH: every kept script goes, and the interpreter starts afresh.
  void flush();

  std::size_t size() const noexcept {
    return scripts_.size();
  }

  // Bytes the interpreter holds (INFO's used_memory_lua).
  std::int64_t memory_bytes() const;

  // Runs kept script `sha` with KEYS and ARGV; returns its reply as RESP bytes
  // for a client speaking `resp` (2 or 3). A missing script answers NOSCRIPT.
  // `read_only`: EVAL_RO / EVALSHA_RO (writes_allowed() is false meanwhile).
  std::string run(std::string_view sha, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args, int resp,
                  const command_runner& call, bool read_only = false);

  // -- Redis 7 functions (FUNCTION, FCALL) -----------------------------------

  struct function_info {
    std::string name;
    std::string library;
    bool no_writes = false; // flags={'no-writes'}: FCALL_RO may call it
    bool allow_oom = false; // flags={'allow-oom'}: may write past maxmemory
    bool no_cluster = false; // flags={'no-cluster'}: refused in cluster mode
    std::vector<std::string> flags;
    std::string description;
    bool has_description = false;
  };
  struct library_info {
    std::string name;
    std::string code;
    std::vector<std::string> functions;
  };

  // FUNCTION LOAD: runs the library's code, which registers its functions
  // with redis.register_function; `name` is the library's. False with
  // Redis's error text.
  bool load_library(std::string_view code, bool replace, std::string& name,
                    std::string& error);
  bool delete_library(std::string_view name);
  // FUNCTION RESTORE: loads `codes` beside the libraries there (append: a
  // name met twice is an error; replace: the new one wins) or instead of them
  // (flush). All or nothing: on an error the libraries are as before.
  enum class restore_policy { append, replace, flush };
  bool restore_libraries(const std::vector<std::string>& codes, restore_policy policy,
                         std::string& error);
  void flush_functions();
  const std::vector<library_info>& libraries() const noexcept {
    return libraries_;
  }
  // Function and library names are matched without regard to case, as in Redis.
  const function_info* find_function(std::string_view name) const;
  const library_info* find_library(std::string_view name) const;

  // FCALL / FCALL_RO: runs function `name` with its keys and arguments;
  // `read_only`: FCALL_RO (the function must have the no-writes flag).
  std::string call_function(std::string_view name, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args, int resp, bool read_only,
                            const command_runner& call);

  // SCRIPT KILL: while `flag` is set, the running script is stopped with
  // Redis's error at its next instructions (checked every 10,000).
  void set_kill_switch(const std::atomic<bool>* flag) noexcept {
    kill_ = flag;
  }
  bool kill_requested() const noexcept {
    return kill_ != nullptr && kill_->load(std::memory_order_relaxed);
  }
  // While a library loads: whether its code has run past its time.
  bool loading_too_long() const noexcept {
    return load_deadline_ != std::chrono::steady_clock::time_point{}
           && std::chrono::steady_clock::now() > load_deadline_;
  }

  // Whether the script or function running now may write (EVAL_RO and
  // functions with no-writes may not).
  bool writes_allowed() const noexcept {
    return writes_allowed_;
  }

  // Whether the running script's writes may go past maxmemory (allow-oom).
  bool allow_oom() const noexcept {
    return allow_oom_;
  }

  // While a library loads: where redis.register_function puts its functions.
  std::vector<function_info>* registering() noexcept {
    return registering_;
  }

  // For the redis table's C functions: the engine of a Lua state.
  static lua_engine& of(lua_State* L);

  // What a running script's redis.call does (see run()).
  std::string call_command(const std::vector<std::string>& argv);
  void log(int level, const std::string& message) const;
  // Whether the last script's error reply is the error of a command it
  // called (counted in INFO errorstats where that command ran).
  bool error_counted() const noexcept {
    return error_counted_;
  }
  int reply_resp() const noexcept {
    return script_resp_;
  }
  void set_reply_resp(int resp) noexcept {
    script_resp_ = resp;
  }

private:
  void open();
  void close();

  std::string run_pushed(std::string_view name, int resp, int nargs,
                         const command_runner& call);

  lua_State* L_ = nullptr;
  std::unordered_map<std::string, script_flags> scripts_;
  std::vector<library_info> libraries_;
  std::vector<function_info> functions_;
  std::vector<function_info>* registering_ = nullptr;
  bool writes_allowed_ = true;
  bool allow_oom_ = false;
  const std::atomic<bool>* kill_ = nullptr;
  std::chrono::steady_clock::time_point load_deadline_{};
  const command_runner* runner_ = nullptr;
  log_sink log_;
  int script_resp_ = 2; // redis.setresp: how redis.call's replies are read
  bool error_counted_ = false;
};

} // namespace stairkv::scripting
