#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Decodes RESP2 / RESP3 replies into a value tree: the client side of the protocol, for
// the embedding API, tools and tests. Replies come from a server, but the reader still
// refuses to let a declared count or length decide an allocation, and bounds nesting.
namespace stairkv::protocol {

// Deepest nesting of aggregates the reader accepts. Real replies nest a few levels
// (XREAD: four); the bound keeps a hostile peer from making destruction of the tree,
// which recurses, exhaust the stack.
inline constexpr std::size_t max_reply_depth = 512;

struct reply {
  enum class kind {
    simple,        // +text
    error,         // -text, or a RESP3 blob error !len
    integer,       // :n
    bulk,          // $len
    null,          // RESP2 $-1 and *-1, RESP3 _
    array,         // *n
    map,           // %n: elements hold key, value, key, value, ...
    set,           // ~n
    push,          // >n (pub/sub messages in RESP3)
    double_value,  // ,text; `text` keeps the digits as sent, `number` the value
    boolean,       // #t / #f; `integer` is 1 or 0
    verbatim,      // =len with "fmt:" prefix; `format` holds fmt, `text` the rest
    big_number,    // (digits, kept as text
  };

  kind type = kind::null;
  std::string text;
  std::int64_t integer = 0;
  double number = 0;
  std::string format;
  std::vector<reply> elements;
};

enum class read_status {
  complete,    // one whole reply was decoded
  incomplete,  // the input ends inside the reply
  malformed,   // the input is not RESP
};

// Reads one reply, possibly arriving in pieces. Call read() with the buffer starting at
// the reply's first byte; on `incomplete`, call again once more bytes are appended (the
// buffer may move; only offsets are kept, and nothing already decoded is decoded again).
// On `complete`, value() is the reply and consumed() its size: drop those bytes, and the
// next read() starts on the next reply.
//
// RESP3 attributes (|n) are read and discarded: the reply is the value they annotate.
// Streamed strings and aggregates ($? and *?) are not supported (Redis never sends
// them) and read as malformed.
class reply_reader {
 public:
  read_status read(std::string_view input);

  // The decoded reply, valid after read() returned `complete`; may be moved from.
  reply& value() { return result_; }

  // Bytes of input the completed reply occupied.
  std::size_t consumed() const { return complete_ ? position_ : 0; }

  // What was wrong with malformed input, e.g. "invalid bulk length".
  std::string_view error() const { return error_; }

  // Forgets a partial reply.
  void reset();

 private:
  struct frame {
    reply value;
    std::uint64_t remaining;  // elements still to read
    bool attribute;           // discarded once complete
  };

  read_status fail(const char* message);
  // Hands a finished value to the aggregate being built; true when it completed the
  // whole reply.
  bool deliver(reply value);

  std::vector<frame> stack_;
  reply result_;
  bool complete_ = false;
  const char* error_ = "";
  std::size_t position_ = 0;       // first byte not yet decoded
  std::size_t line_searched_ = 0;  // bytes past position_ searched for '\r'
  char blob_type_ = 0;             // type of a $ ! = whose header has been read
  std::size_t blob_length_ = 0;    // its payload length; the payload starts at position_
};

struct read_result {
  read_status status;
  std::size_t consumed;  // bytes the reply took when `complete`, else 0
  const char* error;     // when `malformed`, what was wrong; "" otherwise
};

// Decodes one complete reply from the front of `input` in a single call (a convenience
// over reply_reader when the whole reply is known to be buffered).
read_result read_reply(std::string_view input, reply& out);

}  // namespace stairkv::protocol
