// The Lua engine alone: Redis's conversions both ways, its error texts, global
// protection, the redis table and the libraries, with a fake command runner.

#include "modules/scripting/lua_engine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace stairkv::scripting;

namespace {

// Loads and runs `body`; the runner answers every call with `reply` and
// records the calls.
struct harness {
  lua_engine engine;
  std::vector<std::vector<std::string>> calls;
  std::string reply = "+OK\r\n";

  std::string eval(const std::string& body, std::vector<std::string> keys = {},
                   std::vector<std::string> args = {}, int resp = 2) {
    std::string sha, error;
    if (!engine.load(body, sha, error))
      return "-" + error + "\r\n";
    command_runner runner = [this](const std::vector<std::string>& argv) {
      calls.push_back(argv);
      return reply;
    };
    return engine.run(sha, keys, args, resp, runner);
  }
};

} // namespace

TEST(LuaEngine, ValuesBecomeRedisRepliesAsInRedis) {
  harness h;
  EXPECT_EQ(h.eval("return 1"), ":1\r\n");
  EXPECT_EQ(h.eval("return 3.99"), ":3\r\n"); // numbers are truncated to integers
  EXPECT_EQ(h.eval("return 'hello'"), "$5\r\nhello\r\n");
  EXPECT_EQ(h.eval("return true"), ":1\r\n");
  EXPECT_EQ(h.eval("return false"), "$-1\r\n");
  EXPECT_EQ(h.eval("return nil"), "$-1\r\n");
  EXPECT_EQ(h.eval("return {1, 'two', {3}}"), "*3\r\n:1\r\n$3\r\ntwo\r\n*1\r\n:3\r\n");
  EXPECT_EQ(h.eval("return {1, 2, nil, 4}"), "*2\r\n:1\r\n:2\r\n"); // up to the first nil
  EXPECT_EQ(h.eval("return {ok='FINE'}"), "+FINE\r\n");
  EXPECT_EQ(h.eval("return {err='My Error'}"), "-My Error\r\n");
  EXPECT_EQ(h.eval("return redis.status_reply('PONG')"), "+PONG\r\n");
  EXPECT_EQ(h.eval("return redis.error_reply('-ERR custom')"), "-ERR custom\r\n");
  // Booleans follow the script's RESP, not the client's (see below).
  EXPECT_EQ(h.eval("return true", {}, {}, 3), ":1\r\n");
  EXPECT_EQ(h.eval("redis.setresp(3) return true", {}, {}, 3), "#t\r\n");
}

TEST(LuaEngine, KeysArgvAndCallsGoThroughTheRunner) {
  harness h;
  h.reply = ":42\r\n";
  EXPECT_EQ(h.eval("return redis.call('incrby', KEYS[1], ARGV[1])", {"k"}, {"5"}),
            ":42\r\n");
  ASSERT_EQ(h.calls.size(), 1u);
  EXPECT_EQ(h.calls[0], (std::vector<std::string>{"incrby", "k", "5"}));
  // Numbers are passed as Lua prints integers.
  h.eval("redis.call('set', 'n', 10)");
  EXPECT_EQ(h.calls.back(), (std::vector<std::string>{"set", "n", "10"}));
  // Replies become Lua values: a bulk a string, nil false, an array a table.
  h.reply = "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n";
  EXPECT_EQ(h.eval("local r = redis.call('mget', 'a', 'b', 'c'); "
                   "return {type(r[1]), tostring(r[2]), r[3] + 1}"),
            "*3\r\n$6\r\nstring\r\n$5\r\nfalse\r\n:8\r\n");
  h.reply = "+OK\r\n";
  EXPECT_EQ(h.eval("return redis.call('set', 'a', 'b').ok"), "$2\r\nOK\r\n");
}

TEST(LuaEngine, ErrorsOfCallsRaiseAndPcallReturnsThem) {
  harness h;
  h.reply = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  EXPECT_EQ(h.eval("return redis.call('incr', 'x')"),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(h.eval("local r = redis.pcall('incr', 'x'); return r.err"),
            "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  // Lua's own pcall catches a redis.call error as the error table.
  EXPECT_EQ(h.eval("local ok, e = pcall(function() return redis.call('incr', 'x') end); "
                   "return {tostring(ok), e.err}"),
            "*2\r\n$5\r\nfalse\r\n$65\r\nWRONGTYPE Operation against a key holding the "
            "wrong kind of value\r\n");
  auto bad_arg = h.eval("return redis.call('get', {})");
  EXPECT_NE(bad_arg.find("Lua redis lib command arguments must be strings or integers"),
            std::string::npos) << bad_arg;
  auto no_arg = h.eval("return redis.call()");
  EXPECT_NE(no_arg.find("Please specify at least one argument"), std::string::npos) << no_arg;
}

TEST(LuaEngine, GlobalsAreProtectedAndErrorsUseRedisWords) {
  harness h;
  auto read = h.eval("return a");
  EXPECT_NE(read.find("Script attempted to access nonexistent global variable 'a'"),
            std::string::npos) << read;
  auto write = h.eval("a = 10");
  EXPECT_NE(write.find("user_script:1: Attempt to modify a readonly table"), std::string::npos)
    << write;
  EXPECT_EQ(read.rfind("-ERR ", 0), 0u) << read;
  // Locals are fine, and so are the libraries Redis gives scripts.
  EXPECT_EQ(h.eval("local a = 10; return a"), ":10\r\n");
  EXPECT_EQ(h.eval("return cjson.encode({1, 2})"), "$5\r\n[1,2]\r\n");
  EXPECT_EQ(h.eval("return cjson.decode('{\"a\":5}').a"), ":5\r\n");
  EXPECT_EQ(h.eval("return bit.band(0xff, 0x0f)"), ":15\r\n");
  EXPECT_EQ(h.eval("return string.format('%d-%s', 3, 'x')"), "$3\r\n3-x\r\n");
  EXPECT_EQ(h.eval("return redis.sha1hex('')"),
            "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
  // Taken away, as in Redis: reading it is reading a global that does not exist.
  EXPECT_NE(h.eval("return type(loadfile)").find("nonexistent global variable 'loadfile'"),
            std::string::npos);
  auto compile = h.eval("return (");
  EXPECT_EQ(compile.rfind("-ERR Error compiling script (new function): user_script:1:", 0), 0u)
    << compile;
}

TEST(LuaEngine, ScriptsAreKeptBySha1UntilFlushed) {
  lua_engine engine;
  std::string sha, error;
  ASSERT_TRUE(engine.load("return 1", sha, error));
  EXPECT_EQ(sha, sha1_hex("return 1"));
  EXPECT_EQ(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_TRUE(engine.exists(sha));
  EXPECT_EQ(engine.size(), 1u);
  command_runner none = [](const std::vector<std::string>&) { return std::string{"+OK\r\n"}; };
  EXPECT_EQ(engine.run(sha, {}, {}, 2, none), ":1\r\n");
  engine.flush();
  EXPECT_FALSE(engine.exists(sha));
  EXPECT_EQ(engine.run(sha, {}, {}, 2, none),
            "-NOSCRIPT No matching script. Please use EVAL.\r\n");
}

TEST(LuaEngine, MathRandomGoesOnAcrossScriptsAndRepeatsAfterTheSameSeed) {
  harness h;
  auto first = h.eval("return {math.random(1000000), math.random(1000000)}");
  auto next = h.eval("return {math.random(1000000), math.random(1000000)}");
  EXPECT_NE(first, next);
  auto seeded = h.eval("math.randomseed(7); return {math.random(1000000), math.random()}");
  EXPECT_EQ(seeded, h.eval("math.randomseed(7); return {math.random(1000000), math.random()}"));
}

TEST(LuaEngine, NoScriptCanChangeWhatLaterScriptsSee) {
  harness h;
  const char* tricks[] = {
    "setmetatable(_G, {})",
    "local g = getmetatable(_G); g.__index = {}",
    "redis = function() return 1 end",
    "_G = {}",
    "_G.redis = 1",
    "rawset(_G, 'redis', 1)",
    "redis.call = function() return 1 end",
    "rawset(redis, 'call', 1)",
    "cjson.encode = function() return 1 end",
    "bit.lshift = function() return 1 end",
    "string.format = nil",
    "math.random = nil",
    "table.concat = nil",
    "getmetatable('').__index = function() return 1 end",
    "getmetatable('').__index.upper = nil",
    "setmetatable(string, {})",
  };
  for (const char* trick : tricks) {
    auto r = h.eval(trick);
    EXPECT_NE(r.find("Attempt to modify a readonly table"), std::string::npos)
      << trick << ": " << r;
  }
  EXPECT_EQ(h.eval("return type(redis.call)"), "$8\r\nfunction\r\n");
  EXPECT_EQ(h.eval("return ('ab'):upper() .. string.format('%d', 5)"), "$3\r\nAB5\r\n");
  EXPECT_EQ(h.eval("return cjson.encode({1})"), "$3\r\n[1]\r\n");
  // What Redis 7 takes away entirely.
  for (const char* gone : {"getfenv", "setfenv", "debug", "newproxy", "require", "os", "io",
                           "print", "dofile", "loadfile", "module", "package"}) {
    auto r = h.eval(std::string{"return type("} + gone + ")");
    EXPECT_NE(r.find("nonexistent global variable"), std::string::npos) << gone << ": " << r;
  }
  // Iterating a library or the globals sees what is there.
  EXPECT_EQ(h.eval("local n = 0; for k, v in pairs(string) do n = n + 1 end; return n > 10"),
            ":1\r\n");
  EXPECT_EQ(h.eval("return rawget(_G, 'redis') == redis"), ":1\r\n");
  EXPECT_EQ(h.eval("local seen = false; for k in pairs(_G) do seen = seen or k == 'cjson' end;"
                   " return seen"),
            ":1\r\n");
}

TEST(LuaEngine, WhatCouldCrashTheInterpreterIsRefused) {
  harness h;
  // Lua 5.1.5's own unpack overflows on these ranges.
  for (const char* range : {"-2, 2147483647", "0, 2147483647", "-2147483648, -2"}) {
    auto r = h.eval(std::string{"return {unpack({1,2,3}, "} + range + ")}");
    EXPECT_NE(r.find("too many results to unpack"), std::string::npos) << range << ": " << r;
  }
  EXPECT_EQ(h.eval("return {unpack({1,2,3}, 2)}"), "*2\r\n:2\r\n:3\r\n");
  EXPECT_EQ(h.eval("return select('#', unpack({1,2,3}, -1, 5))"), ":7\r\n");
  // Precompiled chunks are not loaded.
  EXPECT_EQ(h.eval("local f, e = loadstring(string.dump(function() return 1 end)); "
                   "return e"),
            "$30\r\nattempt to load a binary chunk\r\n");
  EXPECT_EQ(h.eval("return loadstring('return 7')()"), ":7\r\n");
  // lua-bitop's tohex writes past its buffer for this width.
  EXPECT_EQ(h.eval("return bit.tohex(65535, -2147483648)"), "$8\r\n0000FFFF\r\n");
  EXPECT_EQ(h.eval("return bit.tohex(255, 4)"), "$4\r\n00ff\r\n");
  EXPECT_EQ(h.eval("return bit.tohex(-1)"), "$8\r\nffffffff\r\n");
}

TEST(LuaEngine, ALibraryThatDoesNotEndIsStoppedAtItsTimeLimit) {
  lua_engine engine;
  std::string name, error;
  EXPECT_FALSE(engine.load_library("#!lua name=spin\nwhile true do end", false, name, error));
  EXPECT_NE(error.find("FUNCTION LOAD timeout"), std::string::npos) << error;
  EXPECT_TRUE(engine.load_library(
    "#!lua name=ok\nredis.register_function('f', function() return 1 end)", false, name,
    error)) << error;
  EXPECT_EQ(name, "ok");
}

TEST(LuaEngine, CmsgpackPacksAsRedisAndUnpacksWhatItPacks) {
  harness h;
  auto hex = [&](const std::string& expr) {
    return h.eval("local e = cmsgpack.pack(" + expr
                  + ") local t = {} for i = 1, #e do t[i] = string.format('%02x', "
                    "string.byte(e, i)) end return table.concat(t)");
  };
  auto bulk = [](const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  };
  EXPECT_EQ(hex("0.1"), bulk("cb3fb999999999999a"));
  EXPECT_EQ(hex("0.5"), bulk("ca3f000000"));
  EXPECT_EQ(hex("-1099511627776"), bulk("d3ffffff0000000000"));
  EXPECT_EQ(hex("1, -1, 200, -200, 70000"), bulk("01ffccc8d1ff38ce00011170"));
  EXPECT_EQ(hex("'ab', true, false, nil"), bulk("a26162c3c2c0"));
  EXPECT_EQ(hex("{1, 2}"), bulk("920102"));
  EXPECT_EQ(hex("{a = 1}"), bulk("81a16101"));
  EXPECT_EQ(hex("{}"), bulk("90"));
  EXPECT_EQ(h.eval("local x = {1, 'two', {k = 'v'}, 2^40, -3.5} "
                   "local y = cmsgpack.unpack(cmsgpack.pack(x)) "
                   "return {y[1], y[2], y[3].k, tostring(y[4]), tostring(y[5])}"),
            "*5\r\n:1\r\n$3\r\ntwo\r\n$1\r\nv\r\n$13\r\n1099511627776\r\n$4\r\n-3.5\r\n");
  EXPECT_EQ(h.eval("local o, a = cmsgpack.unpack_one(cmsgpack.pack('a', 'b'), 0) "
                   "local p, b = cmsgpack.unpack_one(cmsgpack.pack('a', 'b'), o) "
                   "return {o, a, p, b}"),
            "*4\r\n:2\r\n$1\r\na\r\n:-1\r\n$1\r\nb\r\n");
  // A table that holds itself is packed 16 levels deep, then nil.
  EXPECT_EQ(h.eval("local t = {} t.t = t local u = cmsgpack.unpack(cmsgpack.pack(t)) "
                   "local d = 0 while u do u = u.t d = d + 1 end return d"),
            ":16\r\n");
  // Damaged or hostile input is an error, never a crash.
  // (Lua 5.1 strings take decimal escapes: \221 is 0xdd.)
  for (const char* bad : {"'\\221\\255\\255\\255\\255'", "'\\219\\255\\255\\255\\255'",
                          "'\\193'", "string.rep('\\145', 100000)", "'\\203\\0'"}) {
    auto r = h.eval(std::string{"return cmsgpack.unpack("} + bad + ")");
    EXPECT_EQ(r.rfind("-ERR", 0), 0u) << bad << ": " << r;
  }
}

TEST(LuaEngine, Resp3RepliesBecomeRedisSevenLuaTablesAndBack) {
  harness h;
  // A RESP3 map, set, double, big number, verbatim string, boolean and null
  // from a command, read after redis.setresp(3).
  h.reply = "%1\r\n$1\r\nk\r\n,1.5\r\n";
  EXPECT_EQ(h.eval("redis.setresp(3) local r = redis.call('x') return tostring(r.map.k.double)"),
            "$3\r\n1.5\r\n");
  h.reply = "~2\r\n$1\r\na\r\n$1\r\nb\r\n";
  EXPECT_EQ(h.eval("redis.setresp(3) local s = redis.call('x').set return {s.a, s.b, s.c}", {},
                   {}, 3),
            "*2\r\n#t\r\n#t\r\n");
  h.reply = "(12345678901234567890\r\n";
  EXPECT_EQ(h.eval("redis.setresp(3) return redis.call('x').big_number"),
            "$20\r\n12345678901234567890\r\n");
  h.reply = "=8\r\ntxt:abcd\r\n";
  EXPECT_EQ(h.eval("redis.setresp(3) local v = redis.call('x').verbatim_string "
                   "return v.format .. '/' .. v.string"),
            "$8\r\ntxt/abcd\r\n");
  h.reply = "_\r\n";
  EXPECT_EQ(h.eval("redis.setresp(3) return redis.call('x') == nil", {}, {}, 3), "#t\r\n");
  EXPECT_EQ(h.eval("redis.setresp(3) return redis.call('x') == nil", {}, {}, 2), ":1\r\n");
  h.reply = "$-1\r\n";
  EXPECT_EQ(h.eval("return redis.call('x') == false"), ":1\r\n"); // RESP2: false
  // Tables with those fields become the RESP3 types (downgraded for RESP2).
  EXPECT_EQ(h.eval("return {map = {a = 1}}", {}, {}, 3), "%1\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(h.eval("return {map = {a = 1}}", {}, {}, 2), "*2\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(h.eval("return {set = {a = true}}", {}, {}, 3), "~1\r\n$1\r\na\r\n");
  EXPECT_EQ(h.eval("return {double = 2.5}", {}, {}, 3), ",2.5\r\n");
  EXPECT_EQ(h.eval("return {double = 2.5}", {}, {}, 2), "$3\r\n2.5\r\n");
  EXPECT_EQ(h.eval("return {big_number = '12\\r\\n3'}", {}, {}, 3), "(12  3\r\n");
  EXPECT_EQ(h.eval("return {verbatim_string = {format = 'txt', string = 'hi'}}", {}, {}, 3),
            "=6\r\ntxt:hi\r\n");
  // Booleans follow the script's RESP: false is null in RESP2 mode, #f after
  // redis.setresp(3) (:0 to a RESP2 client).
  EXPECT_EQ(h.eval("return false", {}, {}, 3), "_\r\n");
  EXPECT_EQ(h.eval("redis.setresp(3) return false", {}, {}, 3), "#f\r\n");
  EXPECT_EQ(h.eval("redis.setresp(3) return false", {}, {}, 2), ":0\r\n");
}

TEST(LuaEngine, CjsonEncodeRefusesWhatWouldOverflowItsBuffer) {
  harness h;
  EXPECT_EQ(h.eval("return cjson.encode({a = {1, 'x'}})"), "$13\r\n{\"a\":[1,\"x\"]}\r\n");
  // 100 MB escape to at most 600 MB: past the bound, refused before cjson
  // sizes its buffer (CVE-2022-24834).
  auto r = h.eval("return cjson.encode({string.rep('a', 100 * 1024 * 1024)})");
  EXPECT_NE(r.find("too large to encode"), std::string::npos) << r.substr(0, 80);
  EXPECT_EQ(h.eval("return #cjson.encode(string.rep('a', 1000000))"), ":1000002\r\n");
}
