#pragma once

// The walls around scripts, as Redis 7 builds them. Redis patches its Lua with
// read-only tables; Debian's Lua 5.1 has none, so here every table a script
// must not change is replaced by an empty stand-in whose metatable reads
// through to the real table and refuses writes, and the few built-ins that
// could write around a metatable (rawset, setmetatable) refuse the stand-ins.
// next, pairs and rawget see through them, so iterating `redis` or `string`
// works as in Redis.
//
// What a script sees as its globals (Redis 7.0.15's allow list): the Lua
// built-ins that cannot reach files, other environments or the debugger,
// the libraries string, table, math, coroutine, cjson, bit, the `redis`
// table, and KEYS and ARGV. Reading any other global is an error
// ("Script attempted to access nonexistent global variable"), and writing
// any global, new or not, is one too ("Attempt to modify a readonly table").
//
// While a library of functions loads (FUNCTION LOAD), its code sees other
// globals: only a `redis` table with register_function, log and the version
// (Redis's library API). The functions it registers run later with the
// ordinary globals.

struct lua_State;

namespace stairkv::scripting::sandbox {

// Seals the state's globals: call once, after every library and the `redis`
// table are in place. `load_api` is the index of the table to become the
// load-time `redis` table.
void seal(lua_State* L, int load_api);

// The table KEYS and ARGV are set in (the real globals behind the stand-in),
// pushed.
void push_globals(lua_State* L);

// Switches what global names resolve to: the library API while a library
// loads (true), the ordinary globals otherwise.
void use_load_api(lua_State* L, bool loading);

// For a C closure that wraps a function (its upvalue 1): calls it with the
// closure's arguments and returns what it returns.
int call_upvalue(lua_State* L);

} // namespace stairkv::scripting::sandbox
