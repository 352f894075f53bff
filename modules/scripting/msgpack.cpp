#include "modules/scripting/msgpack.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include <lua5.1/lua.hpp>

namespace stairkv::scripting {

namespace {

// Tables nest this deep at most when packed; deeper ones (a table that holds
// itself, say) are packed as nil there, as Redis's cmsgpack does.
constexpr int pack_depth = 16;
// What unpacking follows at most, so that crafted input cannot exhaust the
// C stack.
constexpr int unpack_depth = 256;

// -- packing --------------------------------------------------------------------

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void pack_integer(std::string& out, std::int64_t n) {
  if (n >= 0) {
    auto u = static_cast<std::uint64_t>(n);
    if (u < 128) {
      out.push_back(static_cast<char>(u));
    } else if (u <= 0xff) {
      out.push_back(static_cast<char>(0xcc));
      put_be(out, u, 1);
    } else if (u <= 0xffff) {
      out.push_back(static_cast<char>(0xcd));
      put_be(out, u, 2);
    } else if (u <= 0xffffffffull) {
      out.push_back(static_cast<char>(0xce));
      put_be(out, u, 4);
    } else {
      out.push_back(static_cast<char>(0xcf));
      put_be(out, u, 8);
    }
    return;
  }
  auto u = static_cast<std::uint64_t>(n);
  if (n >= -32) {
    out.push_back(static_cast<char>(u & 0xff));
  } else if (n >= -128) {
    out.push_back(static_cast<char>(0xd0));
    put_be(out, u, 1);
  } else if (n >= -32768) {
    out.push_back(static_cast<char>(0xd1));
    put_be(out, u, 2);
  } else if (n >= -2147483648ll) {
    out.push_back(static_cast<char>(0xd2));
    put_be(out, u, 4);
  } else {
    out.push_back(static_cast<char>(0xd3));
    put_be(out, u, 8);
  }
}

void pack_number(std::string& out, lua_Number n) {
  // Whole numbers within 64 bits as integers; the rest as a float when that
  // loses nothing, else as a double.
  if (std::isfinite(n) && n == std::floor(n) && n >= -9223372036854775808.0
      && n < 9223372036854775808.0) {
    pack_integer(out, static_cast<std::int64_t>(n));
    return;
  }
  auto f = static_cast<float>(n);
  if (static_cast<double>(f) == n) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    out.push_back(static_cast<char>(0xca));
    put_be(out, bits, 4);
  } else {
    std::uint64_t bits;
    std::memcpy(&bits, &n, sizeof bits);
    out.push_back(static_cast<char>(0xcb));
    put_be(out, bits, 8);
  }
}

void pack_header(std::string& out, std::size_t n, unsigned fix, std::size_t fix_max,
                 unsigned one, unsigned two, unsigned four) {
  if (n <= fix_max) {
    out.push_back(static_cast<char>(fix | n));
  } else if (one != 0 && n <= 0xff) {
    out.push_back(static_cast<char>(one));
    put_be(out, n, 1);
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(two));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(four));
    put_be(out, n, 4);
  }
}

// The length of the table at `index` as an array: its keys are exactly
// 1..n; -1 when it is not one (then it is packed as a map).
long array_length(lua_State* L, int index) {
  long count = 0, highest = 0;
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 1);
      return -1;
    }
    auto k = lua_tonumber(L, -1);
    if (k <= 0 || k != std::floor(k)) {
      lua_pop(L, 1);
      return -1;
    }
    ++count;
    if (k > static_cast<lua_Number>(highest))
      highest = static_cast<long>(k);
  }
  return count == highest ? count : -1;
}

void pack_value(lua_State* L, std::string& out, int depth);

void pack_table(lua_State* L, std::string& out, int depth) {
  int index = lua_gettop(L);
  auto n = array_length(L, index);
  if (n >= 0) {
    pack_header(out, static_cast<std::size_t>(n), 0x90, 15, 0, 0xdc, 0xdd);
    for (long i = 1; i <= n; ++i) {
      lua_rawgeti(L, index, static_cast<int>(i));
      pack_value(L, out, depth + 1);
    }
    return;
  }
  std::size_t pairs = 0;
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pop(L, 1);
    ++pairs;
  }
  pack_header(out, pairs, 0x80, 15, 0, 0xde, 0xdf);
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pushvalue(L, -2);
    pack_value(L, out, depth + 1); // the key
    pack_value(L, out, depth + 1); // the value
  }
}

// Packs the value on top of the stack and pops it.
void pack_value(lua_State* L, std::string& out, int depth) {
  // (No Lua error may be raised here: C++ strings are alive up the stack.)
  if (!lua_checkstack(L, 4)) {
    out.push_back(static_cast<char>(0xc0));
    lua_pop(L, 1);
    return;
  }
  switch (lua_type(L, -1)) {
    case LUA_TBOOLEAN:
      out.push_back(static_cast<char>(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
      break;
    case LUA_TNUMBER:
      pack_number(out, lua_tonumber(L, -1));
      break;
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      pack_header(out, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
      out.append(s, len);
      break;
    }
    case LUA_TTABLE:
      if (depth >= pack_depth)
        out.push_back(static_cast<char>(0xc0));
      else
        pack_table(L, out, depth);
      break;
    default:
      out.push_back(static_cast<char>(0xc0));
      break;
  }
  lua_pop(L, 1);
}

// -- unpacking ----------------------------------------------------------------

enum class unpacked { ok, missing, bad };

struct reader {
  const unsigned char* p;
  std::size_t left;

  bool take(std::size_t n, const unsigned char*& at) {
    if (left < n)
      return false;
    at = p;
    p += n;
    left -= n;
    return true;
  }
  bool be(int bytes, std::uint64_t& v) {
    const unsigned char* at = nullptr;
    if (!take(static_cast<std::size_t>(bytes), at))
      return false;
    v = 0;
    for (int i = 0; i < bytes; ++i)
      v = (v << 8) | at[i];
    return true;
  }
};

unpacked unpack_value(lua_State* L, reader& in, int depth);

unpacked unpack_string(lua_State* L, reader& in, std::uint64_t len) {
  const unsigned char* at = nullptr;
  if (len > in.left || !in.take(static_cast<std::size_t>(len), at))
    return unpacked::missing;
  lua_pushlstring(L, reinterpret_cast<const char*>(at), static_cast<std::size_t>(len));
  return unpacked::ok;
}

unpacked unpack_array(lua_State* L, reader& in, std::uint64_t n, int depth) {
  if (n > in.left) // every element takes a byte at least
    return unpacked::missing;
  lua_createtable(L, static_cast<int>(n), 0);
  for (std::uint64_t i = 1; i <= n; ++i) {
    auto r = unpack_value(L, in, depth + 1);
    if (r != unpacked::ok)
      return r;
    lua_rawseti(L, -2, static_cast<int>(i));
  }
  return unpacked::ok;
}

unpacked unpack_map(lua_State* L, reader& in, std::uint64_t n, int depth) {
  if (n > in.left / 2)
    return unpacked::missing;
  lua_createtable(L, 0, static_cast<int>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    auto r = unpack_value(L, in, depth + 1);
    if (r != unpacked::ok)
      return r;
    r = unpack_value(L, in, depth + 1);
    if (r != unpacked::ok)
      return r;
    if (lua_isnil(L, -2))
      lua_pop(L, 2); // a nil key cannot be stored
    else
      lua_rawset(L, -3);
  }
  return unpacked::ok;
}

// Pushes the next object of `in`.
unpacked unpack_value(lua_State* L, reader& in, int depth) {
  if (depth > unpack_depth || !lua_checkstack(L, 4))
    return unpacked::bad;
  const unsigned char* at = nullptr;
  if (!in.take(1, at))
    return unpacked::missing;
  unsigned c = *at;
  std::uint64_t v = 0;
  if (c < 0x80) {
    lua_pushnumber(L, c);
    return unpacked::ok;
  }
  if (c >= 0xe0) {
    lua_pushnumber(L, static_cast<std::int8_t>(c));
    return unpacked::ok;
  }
  if ((c & 0xf0) == 0x80)
    return unpack_map(L, in, c & 0x0f, depth);
  if ((c & 0xf0) == 0x90)
    return unpack_array(L, in, c & 0x0f, depth);
  if ((c & 0xe0) == 0xa0)
    return unpack_string(L, in, c & 0x1f);
  auto sized = [&](int bytes) { return in.be(bytes, v); };
  switch (c) {
    case 0xc0:
      lua_pushnil(L);
      return unpacked::ok;
    case 0xc2:
      lua_pushboolean(L, 0);
      return unpacked::ok;
    case 0xc3:
      lua_pushboolean(L, 1);
      return unpacked::ok;
    case 0xc4: case 0xd9: // bin 8, str 8
      return sized(1) ? unpack_string(L, in, v) : unpacked::missing;
    case 0xc5: case 0xda:
      return sized(2) ? unpack_string(L, in, v) : unpacked::missing;
    case 0xc6: case 0xdb:
      return sized(4) ? unpack_string(L, in, v) : unpacked::missing;
    case 0xca: {
      if (!sized(4))
        return unpacked::missing;
      auto bits = static_cast<std::uint32_t>(v);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      lua_pushnumber(L, f);
      return unpacked::ok;
    }
    case 0xcb: {
      if (!sized(8))
        return unpacked::missing;
      double d;
      std::memcpy(&d, &v, sizeof d);
      lua_pushnumber(L, d);
      return unpacked::ok;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
      if (!sized(1 << (c - 0xcc)))
        return unpacked::missing;
      lua_pushnumber(L, static_cast<lua_Number>(v));
      return unpacked::ok;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      int bytes = 1 << (c - 0xd0);
      if (!sized(bytes))
        return unpacked::missing;
      // Sign-extend from `bytes` bytes.
      auto shift = 64 - 8 * bytes;
      auto n = static_cast<std::int64_t>(v << shift) >> shift;
      lua_pushnumber(L, static_cast<lua_Number>(n));
      return unpacked::ok;
    }
    case 0xdc:
      return sized(2) ? unpack_array(L, in, v, depth) : unpacked::missing;
    case 0xdd:
      return sized(4) ? unpack_array(L, in, v, depth) : unpacked::missing;
    case 0xde:
      return sized(2) ? unpack_map(L, in, v, depth) : unpacked::missing;
    case 0xdf:
      return sized(4) ? unpack_map(L, in, v, depth) : unpacked::missing;
    default:
      return unpacked::bad;
  }
}

int pack(lua_State* L) {
  int n = lua_gettop(L);
  if (n == 0)
    return luaL_error(L, "MessagePack pack needs input.");
  luaL_Buffer buffer;
  for (int i = 1; i <= n; ++i) {
    {
      std::string out;
      lua_pushvalue(L, i);
      pack_value(L, out, 0);
      lua_pushlstring(L, out.data(), out.size());
    }
    lua_replace(L, i);
  }
  luaL_buffinit(L, &buffer);
  for (int i = 1; i <= n; ++i) {
    lua_pushvalue(L, i);
    luaL_addvalue(&buffer);
  }
  luaL_pushresult(&buffer);
  return 1;
}

// Unpacks at most `limit` objects (0: all) from `offset`; with
// `with_offset`, the offset of what follows (-1 at the end) comes first.
int unpack_from(lua_State* L, int limit, std::size_t offset, bool with_offset) {
  std::size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  if (offset > len)
    return luaL_error(L, "Start offset %d greater than input length %d.",
                      static_cast<int>(offset), static_cast<int>(len));
  reader in{reinterpret_cast<const unsigned char*>(s) + offset, len - offset};
  int base = lua_gettop(L);
  if (with_offset)
    lua_pushnil(L); // replaced by the offset
  int count = 0;
  while (in.left > 0 && (limit == 0 || count < limit)) {
    auto r = unpack_value(L, in, 0);
    if (r == unpacked::missing)
      return luaL_error(L, "Missing bytes in input.");
    if (r == unpacked::bad)
      return luaL_error(L, "Bad data format in input.");
    ++count;
  }
  if (with_offset) {
    auto next = in.left == 0 ? -1.0 : static_cast<lua_Number>(len - in.left);
    lua_pushnumber(L, next);
    lua_replace(L, base + 1);
  }
  return lua_gettop(L) - base;
}

int unpack(lua_State* L) {
  return unpack_from(L, 0, 0, false);
}

int unpack_one(lua_State* L) {
  auto offset = luaL_optinteger(L, 2, 0);
  if (offset < 0)
    return luaL_error(L, "Offset must not be negative.");
  return unpack_from(L, 1, static_cast<std::size_t>(offset), true);
}

int unpack_limit(lua_State* L) {
  auto limit = luaL_checkinteger(L, 2);
  auto offset = luaL_optinteger(L, 3, 0);
  if (limit < 0 || offset < 0)
    return luaL_error(L, "Limit and offset must not be negative.");
  return unpack_from(L, static_cast<int>(limit), static_cast<std::size_t>(offset), true);
}

} // namespace

int open_msgpack(lua_State* L) {
  lua_newtable(L);
  const luaL_Reg functions[] = {
    {"pack", pack},
    {"unpack", unpack},
    {"unpack_one", unpack_one},
    {"unpack_limit", unpack_limit},
    {nullptr, nullptr},
  };
  for (const auto* f = functions; f->name != nullptr; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
  lua_pushstring(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  return 1;
}

} // namespace stairkv::scripting
