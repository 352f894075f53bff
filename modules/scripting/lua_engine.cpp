#include "modules/scripting/lua_engine.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <algorithm>
#include <stdexcept>

#include <lua5.1/lua.hpp>

#include "modules/commands/text.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/scripting/msgpack.hpp"
#include "modules/scripting/sandbox.hpp"

// Debian's lua-cjson and lua-bitop libraries for Lua 5.1.
extern "C" int luaopen_cjson(lua_State* L);
extern "C" int luaopen_bit(lua_State* L);

namespace stairkv::scripting {

namespace {

// Registry keys: the engine behind a state, and the table of compiled scripts.
constexpr const char* engine_key = "stairkv.engine";
constexpr const char* scripts_key = "stairkv.scripts";
constexpr const char* functions_key = "stairkv.functions";
constexpr const char* loading_key = "stairkv.loading"; // a library's, while it loads
// Set in the error a failed redis.call raises: its command counted it already.
constexpr const char* counted_field = "stairkv_counted";

// What Redis 7.0.15 reports itself as inside scripts.
constexpr const char* redis_version = "7.0.15";
constexpr int redis_version_num = 0x00070000 | (0 << 8) | 15;

// The deepest reply a script may turn into Lua values (Redis's LUA_CMD_OBJCACHE
// aside, its conversion recurses too; the bound keeps the C stack safe).
constexpr int max_depth = 256;

// -- replies to Lua -----------------------------------------------------------

void push_reply(lua_State* L, const protocol::reply& r, int depth);

void push_table_with(lua_State* L, const char* field, const std::string& text) {
  lua_newtable(L);
  lua_pushstring(L, field);
  lua_pushlstring(L, text.data(), text.size());
  lua_settable(L, -3);
}

void push_reply(lua_State* L, const protocol::reply& r, int depth) {
  using kind = protocol::reply::kind;
  if (!lua_checkstack(L, 6) || depth > max_depth) {
    lua_pushboolean(L, 0);
    return;
  }
  switch (r.type) {
    case kind::integer:
      lua_pushnumber(L, static_cast<lua_Number>(r.integer));
      break;
    case kind::bulk:
      lua_pushlstring(L, r.text.data(), r.text.size());
      break;
    case kind::simple:
      push_table_with(L, "ok", r.text);
      break;
    case kind::error:
      push_table_with(L, "err", r.text);
      break;
    case kind::null:
      // RESP2's null bulk and array are false, RESP3's null is nil (Redis 7).
      if (lua_engine::of(L).reply_resp() >= 3)
        lua_pushnil(L);
      else
        lua_pushboolean(L, 0);
      break;
    case kind::boolean:
      lua_pushboolean(L, r.integer != 0 ? 1 : 0);
      break;
    // RESP3's types as Redis 7 hands them to Lua: tables with one field.
    case kind::double_value:
      lua_newtable(L);
      lua_pushnumber(L, r.number);
      lua_setfield(L, -2, "double");
      break;
    case kind::big_number:
      push_table_with(L, "big_number", r.text);
      break;
    case kind::verbatim:
      lua_newtable(L);
      lua_newtable(L);
      lua_pushlstring(L, r.format.data(), r.format.size());
      lua_setfield(L, -2, "format");
      lua_pushlstring(L, r.text.data(), r.text.size());
      lua_setfield(L, -2, "string");
      lua_setfield(L, -2, "verbatim_string");
      break;
    case kind::map: {
      lua_newtable(L);
      lua_newtable(L);
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        push_reply(L, r.elements[i], depth + 1);
        push_reply(L, r.elements[i + 1], depth + 1);
        if (lua_isnil(L, -2))
          lua_pop(L, 2);
        else
          lua_rawset(L, -3);
      }
      lua_setfield(L, -2, "map");
      break;
    }
    case kind::set: {
      lua_newtable(L);
      lua_newtable(L);
      for (const auto& e : r.elements) {
        push_reply(L, e, depth + 1);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          continue;
        }
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
      }
      lua_setfield(L, -2, "set");
      break;
    }
    case kind::array:
    case kind::push: {
      lua_newtable(L);
      int i = 1;
      for (const auto& e : r.elements) {
        push_reply(L, e, depth + 1);
        lua_rawseti(L, -2, i++);
      }
      break;
    }
  }
}

// -- Lua to replies -----------------------------------------------------------

// The string field `name` of the table on top of the stack, if it has one.
bool string_field(lua_State* L, const char* name, std::string& out) {
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  bool found = lua_type(L, -1) == LUA_TSTRING;
  if (found) {
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    out.assign(s, len);
  }
  lua_pop(L, 1);
  return found;
}

// An error or status line may not hold line breaks.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\r' || c == '\n')
      c = ' ';
  return text;
}

// A shebang line split into words as Redis splits it (sdssplitargs): spaces
// separate words, "double quotes" (with backslash escapes) and 'single
// quotes' group them. False on an unbalanced quote.
bool split_shebang(std::string_view line, std::vector<std::string>& words) {
  words.clear();
  std::size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < line.size()) {
    while (i < line.size() && blank(line[i]))
      ++i;
    if (i == line.size())
      break;
    std::string word;
    while (i < line.size() && !blank(line[i])) {
      char q = line[i];
      if (q == '"' || q == '\'') {
        ++i;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == q) {
            closed = true;
            break;
          }
          if (q == '"' && c == '\\' && i < line.size()) {
            char e = line[i++];
            word.push_back(e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
          } else {
            word.push_back(c);
          }
        }
        if (!closed || (i < line.size() && !blank(line[i])))
          return false;
      } else {
        word.push_back(line[i++]);
      }
    }
    words.push_back(std::move(word));
  }
  return true;
}

// The value on top of the stack as a reply (Redis's rules), popped.
void write_value(lua_State* L, protocol::reply_writer& out, int depth);

// The field `name` of the table on top of the stack, pushed (raw: no
// metamethod runs here); false (nothing pushed) when it is not of `type`.
bool push_field(lua_State* L, const char* name, int type) {
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  if (lua_type(L, -1) == type)
    return true;
  lua_pop(L, 1);
  return false;
}

// The entries of the table on top of the stack.
std::size_t count_entries(lua_State* L) {
  std::size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    ++n;
  }
  return n;
}

void write_table(lua_State* L, protocol::reply_writer& out, int depth) {
  std::string text;
  if (string_field(L, "err", text)) {
    out.error(one_line(std::move(text)));
    return;
  }
  if (string_field(L, "ok", text)) {
    out.simple(one_line(std::move(text)));
    return;
  }
  if (push_field(L, "double", LUA_TNUMBER)) {
    out.double_value(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return;
  }
  if (string_field(L, "big_number", text)) {
    out.big_number(one_line(std::move(text)));
    return;
  }
  if (push_field(L, "map", LUA_TTABLE)) {
    out.map(count_entries(L));
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      lua_pushvalue(L, -2);
      write_value(L, out, depth + 1); // the key
      write_value(L, out, depth + 1); // the value
    }
    lua_pop(L, 1);
    return;
  }
  if (push_field(L, "set", LUA_TTABLE)) {
    out.set(count_entries(L));
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      write_value(L, out, depth + 1); // the member
    }
    lua_pop(L, 1);
    return;
  }
  if (push_field(L, "verbatim_string", LUA_TTABLE)) {
    std::string format, body;
    if (string_field(L, "format", format) && string_field(L, "string", body)) {
      lua_pop(L, 1);
      out.verbatim(body, format);
      return;
    }
    lua_pop(L, 1);
  }
  // An array: its elements from 1 up to the first nil.
  std::size_t n = 0;
  for (;;) {
    lua_rawgeti(L, -1, static_cast<int>(n + 1));
    bool present = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!present)
      break;
    ++n;
  }
  out.array(n);
  for (std::size_t i = 1; i <= n; ++i) {
    lua_rawgeti(L, -1, static_cast<int>(i));
    write_value(L, out, depth + 1);
  }
}

void write_value(lua_State* L, protocol::reply_writer& out, int depth) {
  if (depth > max_depth || !lua_checkstack(L, 6)) {
    lua_pop(L, 1);
    out.error("ERR reached lua stack limit");
    return;
  }
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      out.bulk({s, len});
      break;
    }
    case LUA_TBOOLEAN:
      // After redis.setresp(3) a boolean is a boolean (":1"/":0" to a RESP2
      // client); in RESP2 mode true is 1 and false is null, as in Redis.
      if (lua_engine::of(L).reply_resp() >= 3)
        out.boolean(lua_toboolean(L, -1) != 0);
      else if (lua_toboolean(L, -1))
        out.integer(1);
      else
        out.null();
      break;
    case LUA_TNUMBER:
      out.integer(static_cast<std::int64_t>(lua_tonumber(L, -1)));
      break;
    case LUA_TTABLE:
      write_table(L, out, depth);
      break;
    default:
      out.null();
      break;
  }
  lua_pop(L, 1);
}

// -- the redis table ------------------------------------------------------------

// The call's arguments as strings (numbers as Lua prints them), or an error
// message.
bool call_arguments(lua_State* L, std::vector<std::string>& argv, std::string& error) {
  int n = lua_gettop(L);
  if (n == 0) {
    error = "Please specify at least one argument for this redis lib call";
    return false;
  }
  argv.clear();
  for (int i = 1; i <= n; ++i) {
    int t = lua_type(L, i);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
      error = "Lua redis lib command arguments must be strings or integers";
      return false;
    }
    if (t == LUA_TNUMBER) {
      // Integers without a fraction, as Redis converts them ("%.17g").
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.17g", lua_tonumber(L, i));
      argv.emplace_back(buf);
    } else {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);
      argv.emplace_back(s, len);
    }
  }
  return true;
}

// Lua raises errors with longjmp, which skips C++ destructors: the C functions
// below finish with every C++ object of theirs before they raise, leaving the
// error value on the stack.
int redis_call_common(lua_State* L, bool protected_call) {
  bool raise = false;
  {
    auto& engine = lua_engine::of(L);
    std::vector<std::string> argv;
    std::string error;
    bool parsed = call_arguments(L, argv, error);
    lua_settop(L, 0); // the arguments may fill the stack: room for the reply
    if (!parsed) {
      push_table_with(L, "err", "ERR " + error);
      raise = !protected_call;
    } else {
      auto resp = engine.call_command(argv);
      protocol::reply value;
      auto read = protocol::read_reply(resp, value);
      if (read.status != protocol::read_status::complete) {
        value = {};
        value.type = protocol::reply::kind::error;
        value.text = "ERR malformed reply";
      }
      bool failed = value.type == protocol::reply::kind::error;
      raise = failed && !protected_call;
      push_reply(L, value, 0);
      if (failed) {
        // The command's error was counted where it ran: a script that fails
        // with it, or returns it, is not counted again (as in Redis).
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, counted_field);
      }
    }
  }
  if (raise)
    return lua_error(L); // the {err=...} table on top
  return 1;
}

int redis_call(lua_State* L) {
  return redis_call_common(L, false);
}

// redis.acl_check_cmd(command, args...): whether the script's user may run it.
int redis_acl_check_cmd(lua_State* L) {
  bool raise = false;
  {
    auto& engine = lua_engine::of(L);
    std::vector<std::string> argv;
    std::string error;
    bool parsed = call_arguments(L, argv, error);
    lua_settop(L, 0);
    if (!parsed) {
      push_table_with(L, "err", "ERR " + error);
      raise = true;
    } else {
      argv.insert(argv.begin(), acl_check_word);
      auto resp = engine.call_command(argv);
      protocol::reply value;
      auto read = protocol::read_reply(resp, value);
      if (read.status != protocol::read_status::complete
          || value.type == protocol::reply::kind::error) {
        push_table_with(L, "err", read.status == protocol::read_status::complete
                                    ? value.text
                                    : std::string{"ERR malformed reply"});
        raise = true;
      } else {
        lua_pushboolean(L, value.integer == 1);
      }
    }
  }
  if (raise)
    return lua_error(L);
  return 1;
}

int redis_pcall(lua_State* L) {
  return redis_call_common(L, true);
}

int redis_error_reply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "wrong number or type of arguments");
  // Redis's form: "-CODE message" or "message" (code ERR); the table holds
  // "CODE message", with no line break at its end.
  std::string text = lua_tostring(L, 1);
  if (text.empty() || text[0] != '-')
    text.insert(0, "-");
  std::string code = "ERR", message;
  auto space = text.find(' ');
  if (space == std::string::npos) {
    message = text.substr(1);
  } else {
    code = text.substr(1, space - 1);
    message = text.substr(space + 1);
  }
  while (!message.empty() && (message.back() == '\r' || message.back() == '\n'))
    message.pop_back();
  push_table_with(L, "err", message.empty() ? code : code + " " + message);
  return 1;
}

int redis_status_reply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "wrong number or type of arguments");
  push_table_with(L, "ok", lua_tostring(L, 1));
  return 1;
}

int redis_sha1hex(lua_State* L) {
  if (lua_gettop(L) != 1)
    return luaL_error(L, "wrong number of arguments");
  std::size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  auto hex = sha1_hex(s != nullptr ? std::string_view{s, len} : std::string_view{});
  lua_pushstring(L, hex.c_str());
  return 1;
}

int redis_log(lua_State* L) {
  int n = lua_gettop(L);
  if (n < 2)
    return luaL_error(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1))
    return luaL_error(L, "First argument must be a number (log level).");
  auto level = static_cast<int>(lua_tonumber(L, 1));
  if (level < 0 || level > 3)
    return luaL_error(L, "Invalid debug level.");
  std::string message;
  for (int i = 2; i <= n; ++i) {
    std::size_t len = 0;
    const char* s = lua_tolstring(L, i, &len);
    if (s == nullptr)
      continue;
    if (i > 2)
      message += ' ';
    message.append(s, len);
  }
  lua_engine::of(L).log(level, message);
  return 0;
}

int redis_setresp(lua_State* L) {
  if (lua_gettop(L) != 1)
    return luaL_error(L, "redis.setresp() requires one argument.");
  auto resp = static_cast<int>(lua_tonumber(L, 1));
  if (resp != 2 && resp != 3)
    return luaL_error(L, "RESP version must be 2 or 3.");
  lua_engine::of(L).set_reply_resp(resp);
  return 0;
}

bool valid_name(std::string_view name) {
  if (name.empty())
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

// The flags table at the top of the stack into `info`; false on a flag Redis
// does not know.
bool read_flags(lua_State* L, lua_engine::function_info& info) {
  for (int i = 1;; ++i) {
    lua_rawgeti(L, -1, i);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      return true;
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      return false;
    }
    std::string flag = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (flag != "no-writes" && flag != "allow-oom" && flag != "allow-stale"
        && flag != "no-cluster" && flag != "allow-cross-slot-keys")
      return false;
    info.no_writes = info.no_writes || flag == "no-writes";
    info.allow_oom = info.allow_oom || flag == "allow-oom";
    info.no_cluster = info.no_cluster || flag == "no-cluster";
    info.flags.push_back(flag);
  }
}

// redis.register_function{function_name=..., callback=..., description=...,
// flags={...}}: the callback is left on top of the stack.
const char* named_registration(lua_State* L, lua_engine::function_info& info) {
  if (!lua_istable(L, 1))
    return "calling redis.register_function with a single argument is only applicable to "
           "Lua table (representing named arguments).";
  bool have_name = false;
  int callback = 0;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return "named argument key given to redis.register_function is not a string";
    auto key = commands::to_lower(lua_tostring(L, -2));
    if (key == "function_name") {
      if (lua_type(L, -1) != LUA_TSTRING)
        return "function_name argument given to redis.register_function must be a string";
      std::size_t len = 0;
      const char* text = lua_tolstring(L, -1, &len);
      info.name.assign(text, len);
      have_name = true;
    } else if (key == "description") {
      if (lua_type(L, -1) != LUA_TSTRING)
        return "description argument given to redis.register_function must be a string";
      info.description = lua_tostring(L, -1);
      info.has_description = true;
    } else if (key == "callback") {
      if (!lua_isfunction(L, -1))
        return "callback argument given to redis.register_function must be a function";
      lua_pushvalue(L, -1);
      lua_insert(L, 2); // below the iteration's key and value
      callback = 2;
    } else if (key == "flags") {
      if (!lua_istable(L, -1))
        return "flags argument to redis.register_function must be a table representing "
               "function flags";
      if (!read_flags(L, info))
        return "unknown flag given";
    } else {
      return "unknown argument given to redis.register_function";
    }
    lua_pop(L, 1);
  }
  if (!have_name)
    return "redis.register_function must get a function name argument";
  if (callback == 0)
    return "redis.register_function must get a callback argument";
  lua_pushvalue(L, 2);
  return nullptr;
}

// redis.register_function(name, callback) or the named form above. Returns
// nullptr, or what is wrong (raised by the caller, once the C++ objects here
// are gone).
const char* register_function(lua_State* L) {
  auto& engine = lua_engine::of(L);
  auto* into = engine.registering();
  if (into == nullptr)
    return "redis.register_function can only be called on FUNCTION LOAD command";
  lua_engine::function_info info;
  int argc = lua_gettop(L);
  if (argc == 1) {
    if (const char* problem = named_registration(L, info))
      return problem;
  } else if (argc == 2) {
    if (lua_type(L, 1) != LUA_TSTRING)
      return "first argument to redis.register_function must be a string";
    if (!lua_isfunction(L, 2))
      return "second argument to redis.register_function must be a function";
    std::size_t len = 0;
    const char* text = lua_tolstring(L, 1, &len);
    info.name.assign(text, len);
    lua_pushvalue(L, 2);
  } else {
    return "wrong number of arguments to redis.register_function";
  }
  // (Redis 7.0 words a bad function name as a library name.)
  if (!valid_name(info.name))
    return "Library names can only contain letters, numbers, or underscores(_) and must "
           "be at least one character long";
  for (const auto& f : *into)
    if (f.name == info.name)
      return "Function already exists in the library";
  lua_getfield(L, LUA_REGISTRYINDEX, loading_key);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, info.name.c_str());
  lua_pop(L, 2);
  into->push_back(std::move(info));
  return nullptr;
}

int redis_register_function(lua_State* L) {
  if (const char* problem = register_function(L))
    return luaL_error(L, "%s", problem);
  return 0;
}

int redis_accept(lua_State*) {
  return 0; // set_repl: replication is not there to steer
}

int redis_replicate_commands(lua_State* L) {
  lua_pushboolean(L, 1); // effects are what the node records anyway
  return 1;
}

int redis_breakpoint(lua_State* L) {
  lua_pushboolean(L, 0); // no debugger session
  return 1;
}

// Redis's math.random: a 48-bit linear congruential generator, started from
// Redis's initial state and, as in Redis 7 (whose scripts replicate their
// effects), not reseeded between scripts: only math.randomseed seeds it.
std::uint64_t rand48_state = 0x1234abcd330eull;

void seed_rand48(std::uint32_t seed) {
  rand48_state = (static_cast<std::uint64_t>(seed) << 16) | 0x330e;
}

std::int32_t next_rand48() {
  rand48_state = (0x5deece66dull * rand48_state + 0xb) & ((1ull << 48) - 1);
  return static_cast<std::int32_t>(rand48_state >> 17);
}

int math_random(lua_State* L) {
  lua_Number r = static_cast<lua_Number>(next_rand48() % 2147483647) / 2147483647.0;
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      return 1;
    case 1: {
      int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      return 1;
    }
    case 2: {
      int l = luaL_checkint(L, 1);
      int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      return 1;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
}

// unpack(t [, i [, j]]) with Redis's bounds check: Lua 5.1.5's own computes
// the count in an int and a range near the int limits overflows it (and
// crashes the interpreter).
int safe_unpack(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer first = luaL_optinteger(L, 2, 1);
  lua_Integer last = lua_isnoneornil(L, 3) ? static_cast<lua_Integer>(lua_objlen(L, 1))
                                            : luaL_checkinteger(L, 3);
  if (first > last)
    return 0;
  auto count = static_cast<long long>(last) - static_cast<long long>(first) + 1;
  if (count <= 0 || count >= 8000000 || !lua_checkstack(L, static_cast<int>(count)))
    return luaL_error(L, "too many results to unpack");
  for (long long i = first; i <= last; ++i)
    lua_rawgeti(L, 1, static_cast<int>(i));
  return static_cast<int>(count);
}

// loadstring and load refuse precompiled chunks, as Redis 7 does: Lua 5.1
// does not verify bytecode, and crafted bytecode can corrupt memory.
int safe_loadstring(lua_State* L) {
  std::size_t len = 0;
  const char* code = luaL_checklstring(L, 1, &len);
  const char* name = luaL_optstring(L, 2, code);
  if (len > 0 && code[0] == LUA_SIGNATURE[0]) {
    lua_pushnil(L);
    lua_pushstring(L, "attempt to load a binary chunk");
    return 2;
  }
  if (luaL_loadbuffer(L, code, len, name) != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

int safe_load(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  // The pieces the reader gives, on the stack, then joined (no C++ object
  // here: the reader may raise).
  int pieces = 0;
  for (;;) {
    luaL_checkstack(L, 2, "too many pieces");
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1) || (lua_isstring(L, -1) && lua_objlen(L, -1) == 0)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1))
      return luaL_error(L, "reader function must return a string");
    ++pieces;
  }
  lua_concat(L, pieces);
  lua_replace(L, 1);
  lua_settop(L, 1);
  lua_pushstring(L, "=(load)");
  return safe_loadstring(L);
}

// cjson.encode with a bound on what it may be asked to write. lua-cjson
// 2.1.0 (Debian's) sizes its buffer in an int: a string of some 360 MB, or a
// whole output past 2 GB, overflows it and writes past the heap block
// (CVE-2022-24834, fixed in Redis's own copy). Before encoding, the value's
// worst-case size (each string byte escaped to six) is added up; past the
// bound the call is refused instead.
constexpr double cjson_output_bound = 512.0 * 1024 * 1024; // 512 MiB: doubling stays in an int

// Adds the worst-case size of the value at `index` to `total`; false once it
// passes the bound. `depth` stops at cjson's own nesting limit.
bool cjson_size(lua_State* L, int index, int depth, double& total) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING:
      total += 6.0 * static_cast<double>(lua_objlen(L, index)) + 2;
      break;
    case LUA_TTABLE: {
      total += 2;
      if (depth > 1000 || !lua_checkstack(L, 3))
        break; // cjson refuses it itself ("excessive nesting")
      lua_pushnil(L);
      while (total <= cjson_output_bound && lua_next(L, index) != 0) {
        int top = lua_gettop(L);
        total += 1; // the separator
        if (!cjson_size(L, top - 1, depth + 1, total) || !cjson_size(L, top, depth + 1, total)) {
          lua_pop(L, 2);
          return false;
        }
        lua_pop(L, 1);
      }
      break;
    }
    default:
      total += 32; // a number, a boolean, null
      break;
  }
  return total <= cjson_output_bound;
}

int bounded_cjson_encode(lua_State* L) {
  double total = 0;
  if (lua_gettop(L) >= 1 && !cjson_size(L, 1, 0, total))
    return luaL_error(L, "cjson.encode: the value is too large to encode");
  return sandbox::call_upvalue(L);
}

// bit.tohex(x [, n]) with Redis's fix: lua-bitop 1.0.2 negates n without a
// bound, and n = -2^31 writes past its buffer.
int safe_tohex(lua_State* L) {
  auto x = static_cast<std::uint32_t>(static_cast<std::int64_t>(luaL_checknumber(L, 1)));
  lua_Integer n = lua_isnone(L, 2) ? 8 : luaL_checkinteger(L, 2);
  const char* digits = "0123456789abcdef";
  if (n < 0) {
    n = n == std::numeric_limits<lua_Integer>::min() ? 8 : -n;
    digits = "0123456789ABCDEF";
  }
  if (n > 8)
    n = 8;
  char buf[8];
  for (lua_Integer i = n - 1; i >= 0; --i) {
    buf[i] = digits[x & 15];
    x >>= 4;
  }
  lua_pushlstring(L, buf, static_cast<std::size_t>(n));
  return 1;
}

int math_randomseed(lua_State* L) {
  seed_rand48(static_cast<std::uint32_t>(luaL_checkint(L, 1)));
  return 0;
}

void open_library(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

void set_function(lua_State* L, const char* name, lua_CFunction f) {
  lua_pushstring(L, name);
  lua_pushcfunction(L, f);
  lua_settable(L, -3);
}

void set_number(lua_State* L, const char* name, lua_Number n) {
  lua_pushstring(L, name);
  lua_pushnumber(L, n);
  lua_settable(L, -3);
}

// What both `redis` tables (a script's and a loading library's) hold: the
// log levels and the version.
void set_log_and_version(lua_State* L) {
  set_number(L, "LOG_DEBUG", 0);
  set_number(L, "LOG_VERBOSE", 1);
  set_number(L, "LOG_NOTICE", 2);
  set_number(L, "LOG_WARNING", 3);
  lua_pushstring(L, "REDIS_VERSION");
  lua_pushstring(L, redis_version);
  lua_settable(L, -3);
  set_number(L, "REDIS_VERSION_NUM", redis_version_num);
}

// Every 10,000 instructions: has SCRIPT KILL asked to stop? Once it has, the
// hook fires on every line, so that a script catching the error with pcall
// is stopped again at its next line outside it.
constexpr int kill_check_instructions = 10000;

void kill_hook(lua_State* L, lua_Debug*) {
  auto& engine = lua_engine::of(L);
  if (engine.loading_too_long())
    luaL_error(L, "FUNCTION LOAD timeout");
  if (!engine.kill_requested())
    return;
  lua_sethook(L, kill_hook, LUA_MASKLINE, 0);
  luaL_error(L, "Script killed by user with SCRIPT KILL...");
}

// The error a failed script answers with: a redis.call error or
// redis.error_reply table as it is, any other error as Redis 7 words it.
std::string script_error(lua_State* L, std::string_view sha, bool& counted) {
  counted = false;
  if (lua_istable(L, -1)) {
    std::string text;
    if (string_field(L, "err", text)) {
      lua_pushstring(L, counted_field);
      lua_rawget(L, -2);
      counted = lua_toboolean(L, -1) != 0;
      lua_pop(L, 1);
      return one_line(text);
    }
  }
  const char* message = lua_tostring(L, -1);
  std::string text = message != nullptr ? message : "unknown error";
  return one_line("ERR " + text + " script: " + std::string{sha});
}

} // namespace

std::string sha1_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

lua_engine::lua_engine(log_sink log) : log_(std::move(log)) {
  open();
}

lua_engine::~lua_engine() {
  close();
}

lua_engine& lua_engine::of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, engine_key);
  auto* engine = static_cast<lua_engine*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *engine;
}

void lua_engine::open() {
  L_ = luaL_newstate();
  if (L_ == nullptr)
    throw std::runtime_error("cannot create the Lua interpreter");
  auto* L = L_;
  lua_pushlightuserdata(L, this);
  lua_setfield(L, LUA_REGISTRYINDEX, engine_key);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, scripts_key);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, functions_key);
  open_library(L, luaopen_base, "");
  open_library(L, luaopen_table, LUA_TABLIBNAME);
  open_library(L, luaopen_string, LUA_STRLIBNAME);
  open_library(L, luaopen_math, LUA_MATHLIBNAME);
  open_library(L, luaopen_debug, LUA_DBLIBNAME);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "encode");
  lua_pushcclosure(L, bounded_cjson_encode, 1);
  lua_setfield(L, -2, "encode");
  lua_setglobal(L, "cjson");
  lua_pushcfunction(L, open_msgpack);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cmsgpack");
  lua_pushcfunction(L, luaopen_bit);
  lua_pushstring(L, "bit");
  lua_call(L, 1, 1);
  lua_pushcfunction(L, safe_tohex);
  lua_setfield(L, -2, "tohex");
  lua_setglobal(L, "bit");
  // What Redis takes away: files and loading code from them, and printing.
  for (const char* name : {"loadfile", "dofile", "print"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_pushcfunction(L, safe_unpack);
  lua_setglobal(L, "unpack");
  lua_pushcfunction(L, safe_loadstring);
  lua_setglobal(L, "loadstring");
  lua_pushcfunction(L, safe_load);
  lua_setglobal(L, "load");
  lua_getglobal(L, "math");
  set_function(L, "random", math_random);
  set_function(L, "randomseed", math_randomseed);
  lua_pop(L, 1);
  lua_newtable(L);
  set_function(L, "call", redis_call);
  set_function(L, "pcall", redis_pcall);
  set_function(L, "acl_check_cmd", redis_acl_check_cmd);
  set_function(L, "error_reply", redis_error_reply);
  set_function(L, "status_reply", redis_status_reply);
  set_function(L, "sha1hex", redis_sha1hex);
  set_function(L, "log", redis_log);
  set_function(L, "setresp", redis_setresp);
  set_function(L, "set_repl", redis_accept);
  set_function(L, "replicate_commands", redis_replicate_commands);
  set_function(L, "breakpoint", redis_breakpoint);
  set_function(L, "debug", redis_accept);
  set_log_and_version(L);
  set_number(L, "REPL_NONE", 0);
  set_number(L, "REPL_AOF", 1);
  set_number(L, "REPL_SLAVE", 2);
  set_number(L, "REPL_REPLICA", 2);
  set_number(L, "REPL_ALL", 3);
  lua_setglobal(L, "redis");
  // KEYS and ARGV exist from the start, so that protection lets scripts read them.
  lua_newtable(L);
  lua_setglobal(L, "KEYS");
  lua_newtable(L);
  lua_setglobal(L, "ARGV");
  // The `redis` table a library's code sees while it loads.
  lua_newtable(L);
  set_function(L, "register_function", redis_register_function);
  set_function(L, "log", redis_log);
  set_log_and_version(L);
  sandbox::seal(L, -1);
  lua_pop(L, 1);
}

void lua_engine::close() {
  if (L_ != nullptr)
    lua_close(L_);
  L_ = nullptr;
  scripts_.clear();
}

void lua_engine::flush() {
  // SCRIPT FLUSH: a fresh interpreter; the functions' libraries load again.
  auto libraries = std::move(libraries_);
  close();
  open();
  libraries_.clear();
  functions_.clear();
  for (const auto& lib : libraries) {
    std::string name, error;
    load_library(lib.code, true, name, error);
  }
}

void lua_engine::flush_functions() {
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, functions_key);
  libraries_.clear();
  functions_.clear();
}

const lua_engine::function_info* lua_engine::find_function(std::string_view name) const {
  for (const auto& f : functions_)
    if (commands::equals_ignoring_case(f.name, name))
      return &f;
  return nullptr;
}

const lua_engine::library_info* lua_engine::find_library(std::string_view name) const {
  for (const auto& l : libraries_)
    if (commands::equals_ignoring_case(l.name, name))
      return &l;
  return nullptr;
}

bool lua_engine::delete_library(std::string_view name) {
  auto it = std::find_if(libraries_.begin(), libraries_.end(),
                         [&](const library_info& l) { return commands::equals_ignoring_case(l.name, name); });
  if (it == libraries_.end())
    return false;
  lua_getfield(L_, LUA_REGISTRYINDEX, functions_key);
  for (const auto& f : it->functions) {
    lua_pushnil(L_);
    lua_setfield(L_, -2, f.c_str());
  }
  lua_pop(L_, 1);
  auto library = it->name;
  functions_.erase(std::remove_if(functions_.begin(), functions_.end(),
                                  [&](const function_info& f) { return f.library == library; }),
                   functions_.end());
  libraries_.erase(it);
  return true;
}

bool lua_engine::restore_libraries(const std::vector<std::string>& codes,
                                   restore_policy policy, std::string& error) {
  std::vector<std::string> before;
  for (const auto& lib : libraries_)
    before.push_back(lib.code);
  if (policy == restore_policy::flush)
    flush_functions();
  for (const auto& code : codes) {
    std::string name;
    if (!load_library(code, policy == restore_policy::replace, name, error)) {
      // RESTORE words a library met twice without quotes, as Redis does.
      const std::string quoted = "ERR Library '";
      if (error.rfind(quoted, 0) == 0 && error.find("' already exists") != std::string::npos)
        error = "ERR Library " + name + " already exists";
      flush_functions();
      for (const auto& old : before) {
        std::string ignored_name, ignored_error;
        load_library(old, true, ignored_name, ignored_error);
      }
      return false;
    }
  }
  return true;
}

bool lua_engine::load_library(std::string_view code, bool replace, std::string& name,
                              std::string& error) {
  // The first line: "#!lua name=<library>".
  if (code.substr(0, 2) != "#!") {
    error = "ERR Missing library metadata";
    return false;
  }
  auto eol = code.find('\n');
  std::vector<std::string> words;
  if (eol == std::string_view::npos || !split_shebang(code.substr(0, eol), words)
      || words.empty()) {
    error = "ERR Invalid library metadata";
    return false;
  }
  std::string engine_name = words[0].substr(2);
  name.clear();
  bool named = false;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (commands::equals_ignoring_case(std::string_view{words[i]}.substr(0, 5), "name=")) {
      if (named) {
        error = "ERR Invalid metadata value, name argument was given multiple times";
        return false;
      }
      name = words[i].substr(5);
      named = true;
    } else {
      error = "ERR Invalid metadata value given: " + words[i];
      return false;
    }
  }
  if (!named) {
    error = "ERR Library name was not given";
    return false;
  }
  if (!valid_name(name)) {
    error = "ERR Library names can only contain letters, numbers, or underscores(_) and "
            "must be at least one character long";
    return false;
  }
  if (!commands::equals_ignoring_case(engine_name, "lua")) {
    error = "ERR Engine '" + engine_name + "' not found";
    return false;
  }
  const auto* existing = find_library(name);
  bool present = existing != nullptr;
  if (present)
    name = existing->name;
  if (present && !replace) {
    error = "ERR Library '" + name + "' already exists";
    return false;
  }
  // The body, with the metadata line left empty (line numbers stay).
  std::string body = eol == std::string_view::npos ? std::string{} : "\n" + std::string{code.substr(eol + 1)};
  auto* L = L_;
  if (luaL_loadbuffer(L, body.data(), body.size(), "@user_function") != 0) {
    const char* message = lua_tostring(L, -1);
    error = one_line(std::string{"ERR Error compiling function: "}
                     + (message != nullptr ? message : "?"));
    lua_pop(L, 1);
    return false;
  }
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, loading_key);
  std::vector<function_info> registered;
  registering_ = &registered;
  // A library's code only registers functions: it may run 500 ms at most, as
  // in Redis (a loop there would hold the runner for good).
  load_deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds{500};
  lua_sethook(L, kill_hook, LUA_MASKCOUNT, kill_check_instructions);
  sandbox::use_load_api(L, true);
  int status = lua_pcall(L, 0, 0, 0);
  sandbox::use_load_api(L, false);
  lua_sethook(L, nullptr, 0, 0);
  load_deadline_ = {};
  registering_ = nullptr;
  if (status != 0) {
    const char* message = lua_tostring(L, -1);
    error = one_line(std::string{"ERR Error registering functions: "}
                     + (message != nullptr ? message : "?"));
    lua_pop(L, 1);
    return false;
  }
  if (registered.empty()) {
    error = "ERR No functions registered";
    return false;
  }
  for (const auto& f : registered)
    if (const auto* other = find_function(f.name); other != nullptr && other->library != name) {
      error = "ERR Function " + f.name + " already exists";
      return false;
    }
  if (present)
    delete_library(name);
  library_info lib{name, std::string{code}, {}};
  lua_getfield(L, LUA_REGISTRYINDEX, functions_key);
  lua_getfield(L, LUA_REGISTRYINDEX, loading_key);
  for (auto& f : registered) {
    lua_getfield(L, -1, f.name.c_str());
    lua_setfield(L, -3, f.name.c_str());
    f.library = name;
    lib.functions.push_back(f.name);
    functions_.push_back(f);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, loading_key);
  libraries_.push_back(std::move(lib));
  return true;
}

std::int64_t lua_engine::memory_bytes() const {
  return static_cast<std::int64_t>(lua_gc(L_, LUA_GCCOUNT, 0)) * 1024
         + lua_gc(L_, LUA_GCCOUNTB, 0);
}

bool lua_engine::exists(std::string_view sha) const {
  return scripts_.count(std::string{sha}) != 0;
}

bool lua_engine::parse_shebang(std::string_view body, script_flags& flags,
                               std::size_t& skip, std::string& error) {
  flags = {};
  skip = 0;
  if (body.substr(0, 2) != "#!")
    return true;
  auto eol = body.find('\n');
  if (eol == std::string_view::npos) {
    error = "ERR Invalid script shebang";
    return false;
  }
  std::vector<std::string> words;
  if (!split_shebang(body.substr(0, eol), words) || words.empty()) {
    error = "ERR Invalid engine in script shebang";
    return false;
  }
  if (words[0] != "#!lua") {
    error = "ERR Unexpected engine in script shebang: " + words[0];
    return false;
  }
  flags.shebang = true;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (words[i].rfind("flags=", 0) != 0) {
      error = "ERR Unknown lua shebang option: " + words[i];
      return false;
    }
    std::string_view list{words[i]};
    list.remove_prefix(6);
    while (!list.empty()) {
      auto comma = list.find(',');
      auto flag = list.substr(0, comma);
      if (flag == "no-writes")
        flags.no_writes = true;
      else if (flag == "allow-oom")
        flags.allow_oom = true;
      else if (flag == "no-cluster")
        flags.no_cluster = true;
      else if (flag != "allow-stale" && flag != "allow-cross-slot-keys") {
        error = "ERR Unexpected flag in script shebang: " + std::string{flag};
        return false;
      }
      if (comma == std::string_view::npos)
        break;
      list.remove_prefix(comma + 1);
    }
  }
  skip = eol; // the line feed stays: line numbers are the user's
  return true;
}

const lua_engine::script_flags* lua_engine::flags_of(std::string_view sha) const {
  auto it = scripts_.find(std::string{sha});
  return it == scripts_.end() ? nullptr : &it->second;
}

bool lua_engine::load(std::string_view body, std::string& sha, std::string& error) {
  sha = sha1_hex(body);
  if (exists(sha))
    return true;
  script_flags flags;
  std::size_t skip = 0;
  if (!parse_shebang(body, flags, skip, error))
    return false;
  auto* L = L_;
  if (luaL_loadbuffer(L, body.data() + skip, body.size() - skip, "@user_script") != 0) {
    const char* message = lua_tostring(L, -1);
    error = one_line(std::string{"ERR Error compiling script (new function): "}
                     + (message != nullptr ? message : "?"));
    lua_pop(L, 1);
    return false;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, scripts_key);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, sha.c_str());
  lua_pop(L, 2);
  scripts_.emplace(sha, flags);
  return true;
}

std::string lua_engine::call_command(const std::vector<std::string>& argv) {
  if (runner_ == nullptr)
    return "-ERR no command runner\r\n";
  return (*runner_)(argv);
}

void lua_engine::log(int level, const std::string& message) const {
  if (log_)
    log_(level, message);
}

namespace {

void push_strings(lua_State* L, const std::vector<std::string>& values) {
  lua_newtable(L);
  int i = 1;
  for (const auto& v : values) {
    lua_pushlstring(L, v.data(), v.size());
    lua_rawseti(L, -2, i++);
  }
}

} // namespace

std::string lua_engine::run_pushed(std::string_view name, int resp, int nargs,
                                   const command_runner& call) {
  std::string out;
  protocol::reply_writer reply{out, resp};
  auto* L = L_;
  script_resp_ = 2;
  error_counted_ = false;
  runner_ = &call;
  lua_sethook(L, kill_hook, LUA_MASKCOUNT, kill_check_instructions);
  int status = lua_pcall(L, nargs, 1, 0);
  lua_sethook(L, nullptr, 0, 0);
  runner_ = nullptr;
  if (status != 0) {
    reply.error(script_error(L, name, error_counted_));
    lua_pop(L, 1);
  } else {
    if (lua_istable(L, -1)) {
      lua_pushstring(L, counted_field);
      lua_rawget(L, -2);
      error_counted_ = lua_toboolean(L, -1) != 0;
      lua_pop(L, 1);
    }
    write_value(L, reply, 0);
  }
  lua_gc(L, LUA_GCSTEP, 1);
  writes_allowed_ = true;
  allow_oom_ = false;
  return out;
}

std::string lua_engine::run(std::string_view sha, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args, int resp,
                            const command_runner& call, bool read_only) {
  if (!exists(sha)) {
    std::string out;
    protocol::reply_writer{out, resp}.error("NOSCRIPT No matching script. Please use EVAL.");
    return out;
  }
  auto* L = L_;
  for (const auto& [name, values] : {std::pair<const char*, const std::vector<std::string>*>{"KEYS", &keys},
                                     {"ARGV", &args}}) {
    sandbox::push_globals(L);
    lua_pushstring(L, name);
    push_strings(L, *values);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  const auto& flags = *flags_of(sha);
  if (read_only && flags.shebang && !flags.no_writes) {
    std::string out;
    protocol::reply_writer{out, resp}.error(
      "ERR Can not execute a script with write flag using *_ro command.");
    return out;
  }
  writes_allowed_ = !read_only && !flags.no_writes;
  allow_oom_ = flags.allow_oom;
  lua_getfield(L, LUA_REGISTRYINDEX, scripts_key);
  lua_getfield(L, -1, std::string{sha}.c_str());
  lua_remove(L, -2);
  return run_pushed(sha, resp, 0, call);
}

std::string lua_engine::call_function(std::string_view name,
                                      const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args, int resp,
                                      bool read_only, const command_runner& call) {
  std::string out;
  protocol::reply_writer reply{out, resp};
  const auto* f = find_function(name);
  if (f == nullptr) {
    reply.error("ERR Function not found");
    return out;
  }
  if (read_only && !f->no_writes) {
    reply.error("ERR Can not execute a script with write flag using *_ro command.");
    return out;
  }
  auto* L = L_;
  writes_allowed_ = !f->no_writes;
  allow_oom_ = f->allow_oom;
  lua_getfield(L, LUA_REGISTRYINDEX, functions_key);
  lua_getfield(L, -1, f->name.c_str());
  lua_remove(L, -2);
  push_strings(L, keys);
  push_strings(L, args);
  return run_pushed(name, resp, 2, call);
}

} // namespace stairkv::scripting
