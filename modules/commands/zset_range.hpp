#pragma once

// ZRANGE's arguments, read one way for ZRANGE, its older forms and
// ZRANGESTORE (whose source range the gateway reads with the same operation).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "modules/shard/batch.hpp"

namespace stairkv::commands {

// Which command's grammar: ZRANGE's (BYSCORE, BYLEX, REV, LIMIT,
// WITHSCORES), or a form that fixes some of them (ZREVRANGE: reverse ranks,
// WITHSCORES; ZRANGEBYSCORE and ZREVRANGEBYSCORE: WITHSCORES, LIMIT;
// ZRANGEBYLEX and ZREVRANGEBYLEX: LIMIT).
enum class zrange_form { general, rev_rank, by_score, rev_by_score, by_lex, rev_by_lex };

// Reads argv[key_at] (the key) start stop [options] as Redis does. Returns
// the error to reply with, or an empty string with `out` set (its flags, by,
// start and stop; resp is left as it was) and, by score or lex, `bounds` set
// to the operation's value (min then max, checked).
std::string read_zrange(const std::vector<std::string_view>& argv, std::size_t key_at,
                        zrange_form form, shard::zset_args& out, std::string& bounds);

} // namespace stairkv::commands
