#include "modules/scripting/sandbox.hpp"

#include <cstring>
#include <string>
#include <vector>

#include <lua5.1/lua.hpp>

namespace stairkv::scripting::sandbox {

namespace {

// Registry keys.
constexpr const char* readonly_key = "stairkv.readonly";     // stand-in -> real table
constexpr const char* sentinel_key = "stairkv.sealed_meta";  // what getmetatable shows
constexpr const char* globals_key = "stairkv.globals";       // the real globals
constexpr const char* globals_meta_key = "stairkv.globals_meta";
constexpr const char* load_globals_key = "stairkv.load_globals";

// Redis 7.0.15's allow list of globals (script_lua.c); everything else the
// Lua libraries define goes (files, the debugger, other environments).
constexpr const char* allowed_globals[] = {
  "string", "cjson", "bit", "cmsgpack", "math", "table", "struct", "redis",
  "xpcall", "tostring", "setmetatable", "next", "assert", "tonumber", "rawequal",
  "collectgarbage", "getmetatable", "rawset", "pcall", "coroutine", "type", "_G",
  "select", "unpack", "gcinfo", "pairs", "rawget", "loadstring", "ipairs",
  "_VERSION", "load", "error", "KEYS", "ARGV",
};

// The library tables that become read-only stand-ins.
constexpr const char* sealed_tables[] = {
  "string", "cjson", "bit", "cmsgpack", "math", "table", "struct", "redis", "coroutine",
};

int readonly_error(lua_State* L) {
  return luaL_error(L, "Attempt to modify a readonly table");
}

int missing_global(lua_State* L) {
  const char* name = lua_tostring(L, 2);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                    name != nullptr ? name : "?");
}

int absolute(lua_State* L, int index) {
  return index > 0 || index <= LUA_REGISTRYINDEX ? index : lua_gettop(L) + index + 1;
}

// Pushes the real table behind the stand-in at `index`, or nil if it is none.
void push_target(lua_State* L, int index) {
  index = absolute(L, index);
  lua_getfield(L, LUA_REGISTRYINDEX, readonly_key);
  lua_pushvalue(L, index);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

bool is_sealed(lua_State* L, int index) {
  push_target(L, index);
  bool sealed = !lua_isnil(L, -1);
  lua_pop(L, 1);
  return sealed;
}

// Pushes a stand-in for the table at `index`.
void push_stand_in(lua_State* L, int index) {
  index = absolute(L, index);
  lua_newtable(L);
  lua_newtable(L);
  lua_pushvalue(L, index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, readonly_error);
  lua_setfield(L, -2, "__newindex");
  lua_getfield(L, LUA_REGISTRYINDEX, sentinel_key);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, readonly_key);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, index);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}


// setmetatable and rawset: refused on a sealed table.
int guarded_write(lua_State* L) {
  if (lua_istable(L, 1) && is_sealed(L, 1))
    return readonly_error(L);
  return call_upvalue(L);
}

// rawget and next: on a stand-in, they read the real table.
int see_through(lua_State* L) {
  if (lua_istable(L, 1)) {
    push_target(L, 1);
    if (lua_istable(L, -1))
      lua_replace(L, 1);
    else
      lua_pop(L, 1);
  }
  return call_upvalue(L);
}

// pairs(t): the see-through next (upvalue 1), t, nil.
int see_through_pairs(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

void wrap_builtin(lua_State* L, int globals, const char* name, lua_CFunction wrapper) {
  lua_getfield(L, globals, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setfield(L, globals, name);
}

void set_error_metatable(lua_State* L, int index) {
  index = absolute(L, index);
  lua_newtable(L);
  lua_pushcfunction(L, missing_global);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, index);
}

} // namespace

void seal(lua_State* L, int load_api) {
  load_api = absolute(L, load_api);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, readonly_key);
  // What getmetatable shows of a sealed table: an empty table that is sealed
  // itself (getmetatable(_G).__index = {} is refused).
  lua_newtable(L);
  lua_newtable(L);
  lua_pushcfunction(L, readonly_error);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, readonly_key);
  lua_pushvalue(L, -2);
  lua_newtable(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, sentinel_key);

  lua_pushvalue(L, LUA_GLOBALSINDEX);
  int globals = lua_gettop(L);
  // Only the allowed globals stay.
  std::vector<std::string> unwanted;
  lua_pushnil(L);
  while (lua_next(L, globals) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      continue;
    const char* name = lua_tostring(L, -1);
    bool allowed = false;
    for (const char* a : allowed_globals)
      allowed = allowed || std::strcmp(a, name) == 0;
    if (!allowed)
      unwanted.emplace_back(name);
  }
  for (const auto& name : unwanted) {
    lua_pushnil(L);
    lua_setfield(L, globals, name.c_str());
  }
  wrap_builtin(L, globals, "setmetatable", guarded_write);
  wrap_builtin(L, globals, "rawset", guarded_write);
  wrap_builtin(L, globals, "rawget", see_through);
  wrap_builtin(L, globals, "next", see_through);
  lua_getfield(L, globals, "next");
  lua_pushcclosure(L, see_through_pairs, 1);
  lua_setfield(L, globals, "pairs");

  for (const char* name : sealed_tables) {
    lua_getfield(L, globals, name);
    if (lua_istable(L, -1)) {
      push_stand_in(L, -1);
      lua_setfield(L, globals, name);
    }
    lua_pop(L, 1);
  }
  // Strings' metatable: its methods come from the sealed string table, and
  // getmetatable('') shows a sealed stand-in.
  lua_pushstring(L, "");
  if (lua_getmetatable(L, -1) != 0) {
    lua_getfield(L, globals, "string");
    lua_setfield(L, -2, "__index");
    push_stand_in(L, -1);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  // The globals scripts see: an empty stand-in reading through to the real
  // globals (or, while a library loads, to the library API).
  set_error_metatable(L, globals);
  push_stand_in(L, globals);
  int shown = lua_gettop(L);
  lua_getmetatable(L, shown); // (from C, __metatable does not hide it)
  lua_setfield(L, LUA_REGISTRYINDEX, globals_meta_key);
  lua_pushvalue(L, shown);
  lua_setfield(L, globals, "_G");
  lua_pushvalue(L, globals);
  lua_setfield(L, LUA_REGISTRYINDEX, globals_key);

  // The library API: { redis = sealed(load_api) }, both raising on a missing
  // name.
  set_error_metatable(L, load_api);
  lua_newtable(L);
  push_stand_in(L, load_api);
  lua_setfield(L, -2, "redis");
  set_error_metatable(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, load_globals_key);

  lua_pushvalue(L, shown);
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_settop(L, load_api);
}

void push_globals(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, globals_key);
}

void use_load_api(lua_State* L, bool loading) {
  lua_getfield(L, LUA_REGISTRYINDEX, globals_meta_key);
  lua_getfield(L, LUA_REGISTRYINDEX, loading ? load_globals_key : globals_key);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

int call_upvalue(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

} // namespace stairkv::scripting::sandbox
