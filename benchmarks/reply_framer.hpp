#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "modules/protocol/reply_reader.hpp"

// Splits a connection's input into replies and says what kind each one is, without
// building them: the load loop needs only "how long, and was it an error". The four
// kinds SET and GET can answer (+status, -error, :integer, $bulk) are framed in place
// with no allocation; anything else (arrays, RESP3 types) goes through the project's
// full reply_reader, which reads it the same way a client would.
namespace stairkv::bench {

struct reply_summary {
  enum class kind {
    status,  // +OK
    error,   // -ERR ..., or a RESP3 blob error
    integer,
    bulk,
    null,   // $-1, *-1, _
    other,  // aggregates and the remaining RESP3 types
  };
  kind type = kind::null;
  // Bytes of input the reply occupies.
  std::size_t size = 0;
  // For status and error replies, their text. Points into the input, or into the
  // framer for a reply it had to decode fully; valid until the next call.
  std::string_view text;
};

enum class frame_status { complete, incomplete, malformed };

class reply_framer {
 public:
  // Looks at the reply at the front of `input`. On `incomplete`, call again once more
  // bytes are appended, with `input` starting at the same reply (the buffer may move).
  // On `complete`, drop summary.size bytes and call again for the next reply.
  frame_status next(std::string_view input, reply_summary& summary);

  // What was wrong, after `malformed`.
  std::string_view error() const { return error_; }

 private:
  frame_status fail(std::string_view message);
  frame_status decode_fully(std::string_view input, reply_summary& summary);

  protocol::reply_reader reader_;
  bool reader_active_ = false;  // the reply at the front is being read by reader_
  std::string text_;            // text of a fully decoded error or status
  std::string error_;
};

}  // namespace stairkv::bench
