#include "modules/commands/command_table.hpp"

#include <algorithm>
#include <cctype>

#include <unordered_map>

#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/number.hpp"
#include "modules/memory/policy.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::commands {

namespace {

// Command names longer than this are unknown anyway; lower-casing uses a stack buffer.
constexpr std::size_t max_command_name = 32;

constexpr std::uint32_t w = flag::write;
constexpr std::uint32_t r = flag::readonly;
constexpr std::uint32_t oom = flag::denyoom;
constexpr std::uint32_t f = flag::fast;
constexpr std::uint32_t gw = flag::gateway;
constexpr std::uint32_t ld = flag::loading;
constexpr std::uint32_t st = flag::stale;
constexpr std::uint32_t bl = flag::blocking;
constexpr std::uint32_t mk = flag::movablekeys;

std::vector<command_spec> make_table() {
  return {
    // name, arity, flags, first, last, step, group, summary, since, planner
    {"append", 3, w | oom | f, 1, 1, 1, "string",
     "Append a value to a key", "2.0.0", plan_append},
    {"acl", -2, gw | ld | st, 0, 0, 0, "server",
     "A container for Access List Control commands", "6.0.0", nullptr},
    {"auth", -2, gw | ld | st | f, 0, 0, 0, "connection",
     "Authenticate to the server", "1.0.0", nullptr},
    {"bgrewriteaof", 1, gw, 0, 0, 0, "server",
     "Asynchronously rewrite the append-only file", "1.0.0", nullptr},
    {"bgsave", -1, gw, 0, 0, 0, "server", "Asynchronously save the dataset to disk",
     "1.0.0", nullptr},
    {"client", -2, gw | ld | st, 0, 0, 0, "connection",
     "A container for client connection commands", "2.4.0", nullptr},
    {"cluster", -2, gw, 0, 0, 0, "cluster", "A container for cluster commands", "3.0.0",
     nullptr},
    {"asking", 1, gw | f, 0, 0, 0, "cluster",
     "Sent by cluster clients after an -ASK redirect", "3.0.0", nullptr},
    {"readonly", 1, gw | ld | st | f, 0, 0, 0, "cluster",
     "Enables read queries for a connection to a cluster replica node", "3.0.0", nullptr},
    {"readwrite", 1, gw | ld | st | f, 0, 0, 0, "cluster",
     "Disables read queries for a connection to a cluster replica node", "3.0.0", nullptr},
    {"migrate", -6, gw | w | mk, 3, 3, 1, "generic",
     "Atomically transfer a key from a Redis instance to another one.", "2.6.0", nullptr},
    {"restore-asking", -4, w | oom, 1, 1, 1, "server",
     "An internal command for migrating keys in a cluster", "3.0.0", plan_restore},
    {"command", -1, ld | st, 0, 0, 0, "server",
     "Get array of Redis command details", "2.8.13", plan_command},
    {"config", -2, gw | ld | st, 0, 0, 0, "server",
     "A container for server configuration commands", "2.0.0", nullptr},
    {"dbsize", 1, r | f, 0, 0, 0, "server",
     "Return the number of keys in the selected database", "1.0.0",
     plan_dbsize},
    {"debug", -2, gw | ld | st, 0, 0, 0, "server",
     "A container for debugging commands", "1.0.0", nullptr},
    {"discard", 1, gw | ld | st | f, 0, 0, 0, "transactions",
     "Discard all commands issued after MULTI", "2.0.0", nullptr},
    {"exec", 1, gw | ld | st, 0, 0, 0, "transactions",
     "Execute all commands issued after MULTI", "1.2.0", nullptr},
    {"decr", 2, w | oom | f, 1, 1, 1, "string",
     "Decrement the integer value of a key by one", "1.0.0", plan_decr},
    {"decrby", 3, w | oom | f, 1, 1, 1, "string",
     "Decrement the integer value of a key by the given number", "1.0.0",
     plan_decrby},
    {"del", -2, w, 1, -1, 1, "generic", "Delete a key", "1.0.0", plan_del},
    {"dump", 2, r, 1, 1, 1, "generic",
     "Return a serialized version of the value stored at the specified key.", "2.6.0",
     plan_dump},
    {"echo", 2, f, 0, 0, 0, "connection", "Echo the given string", "1.0.0",
     plan_echo},
    {"exists", -2, r | f, 1, -1, 1, "generic", "Determine if a key exists",
     "1.0.0", plan_exists},
    {"expire", -3, w | f, 1, 1, 1, "generic",
     "Set a key's time to live in seconds", "1.0.0", plan_expire},
    {"expireat", -3, w | f, 1, 1, 1, "generic",
     "Set the expiration for a key as a UNIX timestamp", "1.2.0", plan_expireat},
    {"expiretime", 2, r | f, 1, 1, 1, "generic",
     "Get the expiration Unix timestamp for a key", "7.0.0", plan_expiretime},
    {"flushall", -1, w, 0, 0, 0, "server",
     "Remove all keys from all databases", "1.0.0", plan_flush},
    {"flushdb", -1, w, 0, 0, 0, "server",
     "Remove all keys from the current database", "1.0.0", plan_flush},
    {"function", -2, gw | ld | st, 0, 0, 0, "scripting",
     "A container for function commands", "7.0.0", nullptr},
    {"fcall", -3, gw | st | mk, 0, 0, 0, "scripting", "Invoke a function", "7.0.0", nullptr},
    {"fcall_ro", -3, gw | st | r | mk, 0, 0, 0, "scripting", "Invoke a read-only function",
     "7.0.0", nullptr},
    {"get", 2, r | f, 1, 1, 1, "string", "Get the value of a key", "1.0.0",
     plan_get},
    {"getdel", 2, w | f, 1, 1, 1, "string",
     "Get the value of a key and delete the key", "6.2.0", plan_getdel},
    {"getrange", 4, r, 1, 1, 1, "string",
     "Get a substring of the string stored at a key", "2.4.0", plan_getrange},
    {"getset", 3, w | oom | f, 1, 1, 1, "string",
     "Set the string value of a key and return its old value", "1.0.0",
     plan_getset},
    {"getex", -2, w | f, 1, 1, 1, "string",
     "Get the value of a key and optionally set its expiration", "6.2.0",
     plan_getex},
    {"hello", -1, gw | ld | st | f, 0, 0, 0, "connection",
     "Handshake with Redis", "6.0.0", nullptr},
    {"incr", 2, w | oom | f, 1, 1, 1, "string",
     "Increment the integer value of a key by one", "1.0.0", plan_incr},
    {"restore", -4, w | oom, 1, 1, 1, "generic",
     "Create a key using the provided serialized value, previously obtained using DUMP.",
     "2.6.0", plan_restore},
    {"hdel", -3, w | f, 1, 1, 1, "hash", "Delete one or more hash fields", "2.0.0",
     plan_hdel},
    {"hexists", 3, r | f, 1, 1, 1, "hash", "Determine if a hash field exists", "2.0.0",
     plan_hexists},
    {"hget", 3, r | f, 1, 1, 1, "hash", "Get the value of a hash field", "2.0.0",
     plan_hget},
    {"hgetall", 2, r, 1, 1, 1, "hash", "Get all the fields and values in a hash",
     "2.0.0", plan_hgetall},
    {"hincrby", 4, w | oom | f, 1, 1, 1, "hash",
     "Increment the integer value of a hash field by the given number", "2.0.0",
     plan_hincrby},
    {"hincrbyfloat", 4, w | oom | f, 1, 1, 1, "hash",
     "Increment the float value of a hash field by the given amount", "2.6.0",
     plan_hincrbyfloat},
    {"hkeys", 2, r, 1, 1, 1, "hash", "Get all the fields in a hash", "2.0.0", plan_hkeys},
    {"hlen", 2, r | f, 1, 1, 1, "hash", "Get the number of fields in a hash", "2.0.0",
     plan_hlen},
    {"hmget", -3, r | f, 1, 1, 1, "hash", "Get the values of all the given hash fields",
     "2.0.0", plan_hmget},
    {"hmset", -4, w | oom | f, 1, 1, 1, "hash", "Set multiple hash fields to multiple values",
     "2.0.0", plan_hmset},
    {"hrandfield", -2, r, 1, 1, 1, "hash", "Get one or multiple random fields from a hash",
     "6.2.0", plan_hrandfield},
    {"hscan", -3, r, 1, 1, 1, "hash", "Incrementally iterate hash fields and associated values",
     "2.8.0", plan_hscan},
    {"hset", -4, w | oom | f, 1, 1, 1, "hash", "Set the string value of a hash field",
     "2.0.0", plan_hset},
    {"hsetnx", 4, w | oom | f, 1, 1, 1, "hash",
     "Set the value of a hash field, only if the field does not exist", "2.0.0",
     plan_hsetnx},
    {"hstrlen", 3, r | f, 1, 1, 1, "hash", "Get the length of the value of a hash field",
     "3.2.0", plan_hstrlen},
    {"hvals", 2, r, 1, 1, 1, "hash", "Get all the values in a hash", "2.0.0", plan_hvals},
    {"incrby", 3, w | oom | f, 1, 1, 1, "string",
     "Increment the integer value of a key by the given amount", "1.0.0",
     plan_incrby},
    {"eval", -3, gw | st | mk, 0, 0, 0, "scripting", "Execute a Lua script server side",
     "2.6.0", nullptr},
    {"eval_ro", -3, gw | st | r | mk, 0, 0, 0, "scripting",
     "Execute a read-only Lua script server side", "7.0.0", nullptr},
    {"evalsha", -3, gw | st | mk, 0, 0, 0, "scripting",
     "Execute a Lua script server side", "2.6.0", nullptr},
    {"evalsha_ro", -3, gw | st | r | mk, 0, 0, 0, "scripting",
     "Execute a read-only Lua script server side", "7.0.0", nullptr},
    {"script", -2, gw, 0, 0, 0, "scripting",
     "A container for Lua scripts management commands", "2.6.0", nullptr},
    {"info", -1, gw | ld | st, 0, 0, 0, "server",
     "Get information and statistics about the server", "1.0.0", nullptr},
    {"incrbyfloat", 3, w | oom | f, 1, 1, 1, "string",
     "Increment the float value of a key by the given amount", "2.6.0",
     plan_incrbyfloat},
    {"latency", -2, gw | ld | st, 0, 0, 0, "server",
     "A container for latency diagnostics commands", "2.8.13", nullptr},
    {"lastsave", 1, gw | ld | st | f, 0, 0, 0, "server",
     "Get the UNIX time stamp of the last successful save to disk", "1.0.0", nullptr},
    {"memory", -2, r, 0, 0, 0, "server", "A container for memory diagnostics commands",
     "4.0.0", plan_memory},
    {"monitor", 1, gw | ld | st, 0, 0, 0, "server",
     "Listen for all requests received by the server in real time", "1.0.0", nullptr},
    {"multi", 1, gw | ld | st | f, 0, 0, 0, "transactions",
     "Mark the start of a transaction block", "1.2.0", nullptr},
    {"mget", -2, r | f, 1, -1, 1, "string",
     "Get the values of all the given keys", "1.0.0", plan_mget},
    {"move", 3, w | f, 1, 1, 1, "generic", "Move a key to another database", "1.0.0",
     plan_move},
    {"keys", 2, r, 0, 0, 0, "generic", "Find all keys matching the given pattern",
     "1.0.0", plan_keys},
    {"mset", -3, w | oom, 1, -1, 2, "string",
     "Set multiple keys to multiple values", "1.0.1", plan_mset},
    {"msetnx", -3, gw | w | oom, 1, -1, 2, "string",
     "Set multiple keys to multiple values, only if none of the keys exist",
     "1.0.1", nullptr},
    {"object", -2, r, 2, 2, 1, "generic",
     "A container for object introspection commands", "2.2.3", plan_object},
    {"persist", 2, w | f, 1, 1, 1, "generic",
     "Remove the expiration from a key", "2.2.0", plan_persist},
    {"pexpire", -3, w | f, 1, 1, 1, "generic",
     "Set a key's time to live in milliseconds", "2.6.0", plan_pexpire},
    {"pexpireat", -3, w | f, 1, 1, 1, "generic",
     "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
     "2.6.0", plan_pexpireat},
    {"pexpiretime", 2, r | f, 1, 1, 1, "generic",
     "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0",
     plan_pexpiretime},
    {"ping", -1, f | st, 0, 0, 0, "connection", "Ping the server", "1.0.0",
     plan_ping},
    {"psubscribe", -2, gw | ld | st, 0, 0, 0, "pubsub",
     "Listen for messages published to channels matching the given patterns",
     "2.0.0", nullptr},
    {"publish", 3, gw | ld | st | f, 0, 0, 0, "pubsub",
     "Post a message to a channel", "2.0.0", nullptr},
    {"psetex", 4, w | oom, 1, 1, 1, "string",
     "Set the value and expiration in milliseconds of a key", "2.6.0",
     plan_psetex},
    {"pubsub", -2, gw | ld | st, 0, 0, 0, "pubsub",
     "A container for Pub/Sub commands", "2.8.0", nullptr},
    {"punsubscribe", -1, gw | ld | st, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to channels matching the given patterns",
     "2.0.0", nullptr},
    {"pttl", 2, r | f, 1, 1, 1, "generic",
     "Get the time to live for a key in milliseconds", "2.6.0", plan_pttl},
    {"reset", 1, gw | ld | st | f, 0, 0, 0, "connection", "Reset the connection",
     "6.2.0", nullptr},
    {"quit", -1, gw | ld | st | f, 0, 0, 0, "connection",
     "Close the connection", "1.0.0", nullptr},
    {"randomkey", 1, r, 0, 0, 0, "generic", "Return a random key from the keyspace",
     "1.0.0", plan_randomkey},
    {"rename", 3, gw | w, 1, 2, 1, "generic", "Rename a key", "1.0.0", nullptr},
    {"copy", -3, gw | w | oom, 1, 2, 1, "generic", "Copy a key", "6.2.0", nullptr},
    {"renamenx", 3, gw | w | f, 1, 2, 1, "generic",
     "Rename a key, only if the new key does not exist", "1.0.0", nullptr},
    {"save", 1, gw, 0, 0, 0, "server", "Synchronously save the dataset to disk",
     "1.0.0", nullptr},
    {"scan", -2, r, 0, 0, 0, "generic", "Incrementally iterate the keys space",
     "2.8.0", plan_scan},
    {"select", 2, gw | ld | st | f, 0, 0, 0, "connection",
     "Change the selected database for the current connection", "1.0.0", nullptr},
    {"swapdb", 3, gw | w | f, 0, 0, 0, "server", "Swaps two Redis databases", "4.0.0",
     nullptr},
    {"set", -3, w | oom, 1, 1, 1, "string",
     "Set the string value of a key", "1.0.0", plan_set},
    {"setex", 4, w | oom, 1, 1, 1, "string",
     "Set the value and expiration of a key", "2.0.0", plan_setex},
    {"sdiff", -2, gw | r, 1, -1, 1, "set", "Subtract multiple sets", "1.0.0", nullptr},
    {"sdiffstore", -3, gw | w | oom, 1, -1, 1, "set",
     "Subtract multiple sets and store the resulting set in a key", "1.0.0", nullptr},
    {"sinter", -2, gw | r, 1, -1, 1, "set", "Intersect multiple sets", "1.0.0", nullptr},
    {"sintercard", -3, gw | r | mk, 2, -1, 1, "set",
     "Intersect multiple sets and return the cardinality of the result", "7.0.0", nullptr},
    {"sinterstore", -3, gw | w | oom, 1, -1, 1, "set",
     "Intersect multiple sets and store the resulting set in a key", "1.0.0", nullptr},
    {"smove", 4, gw | w | f, 1, 2, 1, "set", "Move a member from one set to another",
     "1.0.0", nullptr},
    {"sunion", -2, gw | r, 1, -1, 1, "set", "Add multiple sets", "1.0.0", nullptr},
    {"sunionstore", -3, gw | w | oom, 1, -1, 1, "set",
     "Add multiple sets and store the resulting set in a key", "1.0.0", nullptr},
    {"lpush", -3, w | oom | f, 1, 1, 1, "list", "Prepend one or multiple elements to a list",
     "1.0.0", plan_lpush},
    {"rpush", -3, w | oom | f, 1, 1, 1, "list", "Append one or multiple elements to a list",
     "1.0.0", plan_rpush},
    {"lpushx", -3, w | oom | f, 1, 1, 1, "list",
     "Prepend an element to a list, only if the list exists", "2.2.0", plan_lpushx},
    {"rpushx", -3, w | oom | f, 1, 1, 1, "list",
     "Append an element to a list, only if the list exists", "2.2.0", plan_rpushx},
    {"lpop", -2, w | f, 1, 1, 1, "list", "Remove and get the first elements in a list",
     "1.0.0", plan_lpop},
    {"rpop", -2, w | f, 1, 1, 1, "list", "Remove and get the last elements in a list",
     "1.0.0", plan_rpop},
    {"llen", 2, r | f, 1, 1, 1, "list", "Get the length of a list", "1.0.0", plan_llen},
    {"lrange", 4, r, 1, 1, 1, "list", "Get a range of elements from a list", "1.0.0",
     plan_lrange},
    {"lindex", 3, r, 1, 1, 1, "list", "Get an element from a list by its index", "1.0.0",
     plan_lindex},
    {"lset", 4, w | oom, 1, 1, 1, "list", "Set the value of an element in a list by its index",
     "1.0.0", plan_lset},
    {"linsert", 5, w | oom, 1, 1, 1, "list",
     "Insert an element before or after another element in a list", "2.2.0", plan_linsert},
    {"lrem", 4, w, 1, 1, 1, "list", "Remove elements from a list", "1.0.0", plan_lrem},
    {"ltrim", 4, w, 1, 1, 1, "list", "Trim a list to the specified range", "1.0.0",
     plan_ltrim},
    {"lpos", -3, r, 1, 1, 1, "list", "Return the index of matching elements on a list",
     "6.0.6", plan_lpos},
    {"lmove", 5, gw | w | oom, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it", "6.2.0", nullptr},
    {"rpoplpush", 3, gw | w | oom, 1, 2, 1, "list",
     "Remove the last element in a list, prepend it to another list and return it", "1.2.0",
     nullptr},
    {"lmpop", -4, gw | w | mk, 2, -2, 1, "list",
     "Pop elements from a list", "7.0.0", nullptr},
    {"blpop", -3, gw | w | bl, 1, -2, 1, "list",
     "Remove and get the first element in a list, or block until one is available", "2.0.0",
     nullptr},
    {"brpop", -3, gw | w | bl, 1, -2, 1, "list",
     "Remove and get the last element in a list, or block until one is available", "2.0.0",
     nullptr},
    {"blmove", 6, gw | w | oom | bl, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available", "6.2.0", nullptr},
    {"brpoplpush", 4, gw | w | oom | bl, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available", "2.2.0", nullptr},
    {"blmpop", -5, gw | w | bl | mk, 3, -2, 1, "list",
     "Pop elements from a list, or block until one is available", "7.0.0", nullptr},
    {"sadd", -3, w | oom | f, 1, 1, 1, "set", "Add one or more members to a set", "1.0.0",
     plan_sadd},
    {"scard", 2, r | f, 1, 1, 1, "set", "Get the number of members in a set", "1.0.0",
     plan_scard},
    {"sismember", 3, r | f, 1, 1, 1, "set", "Determine if a given value is a member of a set",
     "1.0.0", plan_sismember},
    {"smembers", 2, r, 1, 1, 1, "set", "Get all the members in a set", "1.0.0",
     plan_smembers},
    {"smismember", -3, r | f, 1, 1, 1, "set",
     "Returns the membership associated with the given elements for a set", "6.2.0",
     plan_smismember},
    {"spop", -2, w | f, 1, 1, 1, "set", "Remove and return one or multiple random members from a set",
     "1.0.0", plan_spop},
    {"srandmember", -2, r, 1, 1, 1, "set", "Get one or multiple random members from a set",
     "1.0.0", plan_srandmember},
    {"srem", -3, w | f, 1, 1, 1, "set", "Remove one or more members from a set", "1.0.0",
     plan_srem},
    {"sscan", -3, r, 1, 1, 1, "set", "Incrementally iterate Set elements", "2.8.0",
     plan_sscan},
    {"bzpopmin", -3, gw | w | f | bl, 1, -2, 1, "sorted_set",
     "Remove and return the member with the lowest score from one or more sorted sets, or "
     "block until one is available", "5.0.0", nullptr},
    {"bzpopmax", -3, gw | w | f | bl, 1, -2, 1, "sorted_set",
     "Remove and return the member with the highest score from one or more sorted sets, or "
     "block until one is available", "5.0.0", nullptr},
    {"bzmpop", -5, gw | w | bl | mk, 3, -2, 1, "sorted_set",
     "Remove and return members with scores in a sorted set or block until one is available",
     "7.0.0", nullptr},
    {"zmpop", -4, gw | w | mk, 2, -2, 1, "sorted_set",
     "Remove and return members with scores in a sorted set", "7.0.0", nullptr},
    {"sort", -2, gw | w | oom | mk, 1, 1, 1, "generic",
     "Sort the elements in a list, set or sorted set", "1.0.0", nullptr},
    {"sort_ro", -2, gw | r | mk, 1, 1, 1, "generic",
     "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "7.0.0",
     nullptr},
    {"zdiff", -3, gw | r | mk, 2, -2, 1, "sorted_set", "Subtract multiple sorted sets", "6.2.0",
     nullptr},
    {"zdiffstore", -4, gw | w | oom | mk, 1, -2, 1, "sorted_set",
     "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0",
     nullptr},
    {"zinter", -3, gw | r | mk, 2, -2, 1, "sorted_set", "Intersect multiple sorted sets", "6.2.0",
     nullptr},
    {"zintercard", -3, gw | r | mk, 2, -2, 1, "sorted_set",
     "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0",
     nullptr},
    {"zinterstore", -4, gw | w | oom | mk, 1, -2, 1, "sorted_set",
     "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
     nullptr},
    {"zrangestore", -5, gw | w | oom, 1, 2, 1, "sorted_set",
     "Store a range of members from sorted set into another key", "6.2.0", nullptr},
    {"zunion", -3, gw | r | mk, 2, -2, 1, "sorted_set", "Add multiple sorted sets", "6.2.0",
     nullptr},
    {"zunionstore", -4, gw | w | oom | mk, 1, -2, 1, "sorted_set",
     "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
     nullptr},
    {"zadd", -4, w | oom | f, 1, 1, 1, "sorted_set",
     "Add one or more members to a sorted set, or update its score if it already exists",
     "1.2.0", plan_zadd},
    {"zcard", 2, r | f, 1, 1, 1, "sorted_set", "Get the number of members in a sorted set",
     "1.2.0", plan_zcard},
    {"zcount", 4, r | f, 1, 1, 1, "sorted_set",
     "Count the members in a sorted set with scores within the given values", "2.0.0",
     plan_zcount},
    {"zincrby", 4, w | oom | f, 1, 1, 1, "sorted_set",
     "Increment the score of a member in a sorted set", "1.2.0", plan_zincrby},
    {"zlexcount", 4, r | f, 1, 1, 1, "sorted_set",
     "Count the number of members in a sorted set between a given lexicographical range",
     "2.8.9", plan_zlexcount},
    {"zmscore", -3, r | f, 1, 1, 1, "sorted_set",
     "Get the score associated with the given members in a sorted set", "6.2.0",
     plan_zmscore},
    {"zpopmax", -2, w | f, 1, 1, 1, "sorted_set",
     "Remove and return members with the highest scores in a sorted set", "5.0.0",
     plan_zpopmax},
    {"zpopmin", -2, w | f, 1, 1, 1, "sorted_set",
     "Remove and return members with the lowest scores in a sorted set", "5.0.0",
     plan_zpopmin},
    {"zrandmember", -2, r, 1, 1, 1, "sorted_set",
     "Get one or multiple random elements from a sorted set", "6.2.0", plan_zrandmember},
    {"zrange", -4, r, 1, 1, 1, "sorted_set", "Return a range of members in a sorted set",
     "1.2.0", plan_zrange},
    {"zrangebylex", -4, r, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by lexicographical range", "2.8.9",
     plan_zrangebylex},
    {"zrangebyscore", -4, r, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by score", "1.0.5", plan_zrangebyscore},
    {"zrank", -3, r | f, 1, 1, 1, "sorted_set",
     "Determine the index of a member in a sorted set", "2.0.0", plan_zrank},
    {"zrem", -3, w | f, 1, 1, 1, "sorted_set", "Remove one or more members from a sorted set",
     "1.2.0", plan_zrem},
    {"zremrangebylex", 4, w, 1, 1, 1, "sorted_set",
     "Remove all members in a sorted set between the given lexicographical range", "2.8.9",
     plan_zremrangebylex},
    {"zremrangebyrank", 4, w, 1, 1, 1, "sorted_set",
     "Remove all members in a sorted set within the given indexes", "2.0.0",
     plan_zremrangebyrank},
    {"zremrangebyscore", 4, w, 1, 1, 1, "sorted_set",
     "Remove all members in a sorted set within the given scores", "1.2.0",
     plan_zremrangebyscore},
    {"zrevrange", -4, r, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by index, with scores ordered from high to "
     "low", "1.2.0", plan_zrevrange},
    {"zrevrangebylex", -4, r, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by lexicographical range, ordered from "
     "higher to lower strings.", "2.8.9", plan_zrevrangebylex},
    {"zrevrangebyscore", -4, r, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by score, with scores ordered from high to "
     "low", "2.2.0", plan_zrevrangebyscore},
    {"zrevrank", -3, r | f, 1, 1, 1, "sorted_set",
     "Determine the index of a member in a sorted set, with scores ordered from high to low",
     "2.0.0", plan_zrevrank},
    {"zscan", -3, r, 1, 1, 1, "sorted_set",
     "Incrementally iterate sorted sets elements and associated scores", "2.8.0", plan_zscan},
    {"zscore", 3, r | f, 1, 1, 1, "sorted_set",
     "Get the score associated with the given member in a sorted set", "1.2.0", plan_zscore},
    {"setnx", 3, w | oom | f, 1, 1, 1, "string",
     "Set the value of a key, only if the key does not exist", "1.0.0", plan_setnx},
    {"setrange", 4, w | oom, 1, 1, 1, "string",
     "Overwrite part of a string at key starting at the specified offset", "2.2.0",
     plan_setrange},
    {"shutdown", -1, gw | ld | st, 0, 0, 0, "server",
     "Synchronously save the dataset to disk and then shut down the server", "1.0.0",
     nullptr},
    {"slowlog", -2, gw | ld | st, 0, 0, 0, "server",
     "A container for slow log commands", "2.2.12", nullptr},
    {"spublish", 3, gw | ld | st | f, 0, 0, 0, "pubsub",
     "Post a message to a shard channel", "7.0.0", nullptr},
    {"ssubscribe", -2, gw | ld | st, 0, 0, 0, "pubsub",
     "Listen for messages published to the given shard channels", "7.0.0", nullptr},
    {"sunsubscribe", -1, gw | ld | st, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to the given shard channels", "7.0.0", nullptr},
    {"subscribe", -2, gw | ld | st, 0, 0, 0, "pubsub",
     "Listen for messages published to the given channels", "2.0.0", nullptr},
    {"strlen", 2, r | f, 1, 1, 1, "string",
     "Get the length of the value stored in a key", "2.2.0", plan_strlen},
    {"ttl", 2, r | f, 1, 1, 1, "generic", "Get the time to live for a key",
     "1.0.0", plan_ttl},
    {"time", 1, ld | st | f, 0, 0, 0, "server", "Return the current server time",
     "2.0.0", plan_time},
    {"unwatch", 1, gw | ld | st | f, 0, 0, 0, "transactions",
     "Forget about all watched keys", "2.2.0", nullptr},
    {"watch", -2, gw | ld | st | f, 1, -1, 1, "transactions",
     "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0",
     nullptr},
    {"touch", -2, r | f, 1, -1, 1, "generic",
     "Alters the last access time of a key(s). Returns the number of existing keys "
     "specified.", "3.2.1", plan_touch},
    {"type", 2, r | f, 1, 1, 1, "generic", "Determine the type stored at key",
     "1.0.0", plan_type},
    {"unlink", -2, w | f, 1, -1, 1, "generic",
     "Delete a key asynchronously in another thread; here, as DEL", "4.0.0", plan_del},
    {"unsubscribe", -1, gw | ld | st, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to the given channels", "2.0.0", nullptr},
  };
}

struct index {
  std::vector<command_spec> table = make_table();
  std::unordered_map<std::string_view, const command_spec*> by_name;

  index() {
    for (const auto& spec : table)
      by_name.emplace(spec.name, &spec);
  }
};

const index& the_index() {
  static const index instance;
  return instance;
}

} // namespace

bool arity_ok(const command_spec& spec, std::size_t argc) {
  auto n = static_cast<long>(argc);
  return spec.arity >= 0 ? n == spec.arity : n >= -spec.arity;
}

const command_spec* find_command(std::string_view name) {
  if (name.size() > max_command_name)
    return nullptr;
  char lower[max_command_name];
  std::transform(name.begin(), name.end(), lower, [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  const auto& by_name = the_index().by_name;
  auto it = by_name.find(std::string_view{lower, name.size()});
  return it == by_name.end() ? nullptr : it->second;
}

const std::vector<command_spec>& all_commands() {
  return the_index().table;
}

std::string unknown_command_error(const std::vector<std::string_view>& argv) {
  // Redis quotes at most 128 bytes of the name and of the arguments, and turns line
  // breaks into spaces so the error stays one protocol line.
  constexpr std::size_t quote_limit = 128;
  std::string msg = "ERR unknown command '";
  auto name = argv.empty() ? std::string_view{} : argv[0];
  msg.append(name.substr(0, quote_limit));
  msg.append("', with args beginning with: ");
  std::size_t quoted = 0;
  for (std::size_t i = 1; i < argv.size() && quoted < quote_limit; ++i) {
    auto arg = argv[i].substr(0, quote_limit - quoted);
    msg += '\'';
    msg.append(arg);
    msg.append("' ");
    quoted += arg.size() + 3;
  }
  std::replace(msg.begin(), msg.end(), '\r', ' ');
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return msg;
}

namespace {

// The containers' subcommands that have a statistics slot of their own.
const std::vector<std::pair<const char*, std::vector<const char*>>>& containers() {
  static const std::vector<std::pair<const char*, std::vector<const char*>>> table = {
    {"acl", {"cat", "deluser", "dryrun", "genpass", "getuser", "help", "list", "load",
             "log", "save", "setuser", "users", "whoami"}},
    {"client", {"caching", "getname", "getredir", "help", "id", "info", "kill", "list",
                "no-evict", "no-touch", "pause", "reply", "setname", "tracking",
                "trackinginfo", "unpause"}},
    {"cluster", {"addslots", "addslotsrange", "bumpepoch", "count-failure-reports",
                 "countkeysinslot", "delslots", "delslotsrange", "failover", "flushslots",
                 "forget", "getkeysinslot", "help", "info", "keyslot", "meet", "myid", "nodes",
                 "replicate", "reset", "saveconfig", "set-config-epoch", "setslot", "shards",
                 "slots"}},
    {"command", {"count", "docs", "info", "list"}},
    {"config", {"get", "resetstat", "rewrite", "set"}},
    {"function", {"delete", "dump", "flush", "help", "kill", "list", "load", "restore",
                  "stats"}},
    {"latency", {"doctor", "graph", "help", "histogram", "history", "latest", "reset"}},
    {"memory", {"doctor", "help", "malloc-stats", "purge", "stats", "usage"}},
    {"object", {"encoding", "freq", "help", "idletime", "refcount"}},
    {"pubsub", {"channels", "numpat", "numsub", "shardchannels", "shardnumsub"}},
    {"script", {"exists", "flush", "help", "kill", "load"}},
    {"slowlog", {"get", "help", "len", "reset"}},
  };
  return table;
}

// Redis 7's ADMIN commands and subcommands among those here.
bool is_admin(std::string_view slot) {
  static constexpr const char* names[] = {
    "acl|deluser", "acl|dryrun", "acl|getuser", "acl|list", "acl|load", "acl|log",
    "acl|save", "acl|setuser", "acl|users", "bgrewriteaof", "bgsave", "client|kill", "client|list", "client|no-evict",
    "client|pause", "client|unpause", "config", "config|get", "config|resetstat",
    "config|rewrite", "config|set", "debug", "latency", "latency|doctor", "latency|graph",
    "latency|histogram", "latency|history", "latency|latest", "latency|reset",
    "monitor", "save", "shutdown", "slowlog", "slowlog|get", "slowlog|len",
    "slowlog|reset",
  };
  for (const auto* name : names)
    if (slot == name)
      return true;
  return false;
}

struct slot_index {
  std::vector<stat_slot> slots;
  // By command position: the first and past-the-last subcommand slot.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
};

const slot_index& slot_table() {
  static const slot_index index = [] {
    slot_index out;
    const auto& all = all_commands();
    for (const auto& spec : all)
      out.slots.push_back({spec.name, &spec, false, is_admin(spec.name)});
    out.ranges.assign(all.size(), {0, 0});
    for (const auto& [name, subs] : containers()) {
      const auto* spec = find_command(name);
      if (spec == nullptr)
        continue;
      auto position = static_cast<std::size_t>(spec - all.data());
      out.ranges[position].first = out.slots.size();
      for (const auto* sub : subs)
        out.slots.push_back({std::string{name} + "|" + sub, spec, true,
                             is_admin(std::string{name} + "|" + sub)});
      out.ranges[position].second = out.slots.size();
    }
    return out;
  }();
  return index;
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

} // namespace

const std::vector<stat_slot>& stat_slots() {
  return slot_table().slots;
}

std::pair<std::size_t, std::size_t> subcommand_slots(const command_spec& spec) {
  return slot_table().ranges[static_cast<std::size_t>(&spec - all_commands().data())];
}

std::size_t stat_slot_of(const command_spec& spec,
                         const std::vector<std::string_view>& argv) {
  auto own = static_cast<std::size_t>(&spec - all_commands().data());
  auto [begin, end] = slot_table().ranges[own];
  if (begin == end || argv.size() < 2)
    return own;
  const auto& slots = slot_table().slots;
  auto prefix = std::string_view{spec.name}.size() + 1;
  for (auto i = begin; i < end; ++i)
    if (same_ignoring_case(std::string_view{slots[i].name}.substr(prefix), argv[1]))
      return i;
  return own;
}

std::optional<std::size_t> find_stat_slot(std::string_view name) {
  const auto& slots = slot_table().slots;
  for (std::size_t i = 0; i < slots.size(); ++i)
    if (same_ignoring_case(slots[i].name, name))
      return i;
  return std::nullopt;
}

outcome execute_command(plan& p, const client_context& client,
                        const std::vector<std::string_view>& argv) {
  return execute_command(p, client, argv,
                         argv.empty() ? nullptr : find_command(argv[0]));
}

outcome execute_command(plan& p, const client_context& client,
                        const std::vector<std::string_view>& argv,
                        const command_spec* spec) {
  if (spec == nullptr) {
    reply_error(p, client, unknown_command_error(argv));
    return outcome::rejected;
  }
  if (!arity_ok(*spec, argv.size())) {
    reply_error(p, client, protocol::errors::wrong_arity(spec->name));
    return outcome::rejected;
  }
  if ((spec->flags & flag::write) && !p.write_refusal().empty()) {
    reply_error(p, client, p.write_refusal());
    return outcome::rejected;
  }
  if ((spec->flags & flag::denyoom) && p.refusing_growth()) {
    reply_error(p, client, memory::oom_error);
    return outcome::rejected;
  }
  if (spec->run == nullptr)
    return outcome::gateway;
  auto from = p.operations();
  if (client.tracking_client != 0) {
    // Only a read-only command's keys are remembered (as in Redis).
    auto what = client.tracking_what;
    if ((spec->flags & flag::readonly) == 0)
      what &= static_cast<std::uint8_t>(~shard::tracking_note::remember);
    p.track_for(client.tracking_client, what);
    spec->run(p, client, argv);
    p.track_for(0, 0);
  } else {
    spec->run(p, client, argv);
  }
  if ((spec->flags & flag::write) != 0)
    p.note_writes_since(from);
  return outcome::routed;
}

bool collect_keys(const command_spec& spec, const std::vector<std::string_view>& call,
                  std::vector<std::string_view>& keys) {
  auto keyed = spec;
  std::string_view name = spec.name;
  if (name == "memory" && call.size() >= 3 && equals_ignoring_case(call[1], "usage")) {
    keyed.first_key = keyed.last_key = 2; // MEMORY USAGE key
    keyed.key_step = 1;
  }
  // The script calls' keys follow their count: EVAL script numkeys key...
  std::int64_t numkeys = 0;
  bool script_call = name == "eval" || name == "evalsha" || name == "eval_ro"
                     || name == "evalsha_ro" || name == "fcall" || name == "fcall_ro";
  if (script_call) {
    if (call.size() < 3 || !protocol::parse_int64(call[2], numkeys) || numkeys <= 0
        || static_cast<std::uint64_t>(numkeys) > call.size() - 3)
      return false;
    keyed.first_key = 3;
    keyed.last_key = 2 + static_cast<int>(numkeys);
    keyed.key_step = 1;
  }
  if (name == "migrate") {
    // MIGRATE host port key|"" db timeout [...] [KEYS key...]: the keys after
    // KEYS when the key argument is empty (Redis's migrateGetKeys).
    if (call[3].empty())
      for (std::size_t i = 6; i < call.size(); ++i) {
        if (equals_ignoring_case(call[i], "auth")) {
          ++i; // its password
        } else if (equals_ignoring_case(call[i], "auth2")) {
          i += 2; // its user name and password
        } else if (equals_ignoring_case(call[i], "keys")) {
          keys.insert(keys.end(), call.begin() + static_cast<std::ptrdiff_t>(i) + 1, call.end());
          return true;
        }
      }
    keys.push_back(call[3]);
    return true;
  }
  if (keyed.first_key == 0)
    return false;
  if (name == "sort" || name == "sort_ro") {
    // The sorted key, then the STORE destination, the last one given (Redis's
    // sortGetKeys: LIMIT takes two words, BY and GET one, which are no keys).
    keys.push_back(call[1]);
    std::string_view destination;
    for (std::size_t i = 2; i < call.size(); ++i) {
      if (equals_ignoring_case(call[i], "limit"))
        i += 2;
      else if (equals_ignoring_case(call[i], "get") || equals_ignoring_case(call[i], "by"))
        i += 1;
      else if (equals_ignoring_case(call[i], "store") && i + 1 < call.size())
        destination = call[++i];
    }
    if (destination.data() != nullptr)
      keys.push_back(destination);
    return true;
  }
  visit_key_positions(keyed, call.size(), [&](std::size_t i) {
    keys.push_back(call[i]);
    return false;
  });
  return true;
}

} // namespace stairkv::commands
