#pragma once

// The `cmsgpack` library Redis gives scripts: MessagePack for Lua values,
// cmsgpack.pack(v, ...) -> bytes, cmsgpack.unpack(bytes) -> v, ...,
// cmsgpack.unpack_one(bytes [, offset]) -> next offset (-1 at the end), v,
// cmsgpack.unpack_limit(bytes, limit [, offset]) -> next offset, v, ...
// Encoded as Redis's does: whole numbers as the smallest integer, others as a
// float when that loses nothing, else a double; a table whose keys are 1..n
// as an array, any other as a map; tables nested past 16 levels as nil.
// Debian packages no cmsgpack for Lua 5.1, hence this one.

struct lua_State;

namespace stairkv::scripting {

// Pushes the library's table.
int open_msgpack(lua_State* L);

} // namespace stairkv::scripting
