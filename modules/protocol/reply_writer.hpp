#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Appends RESP replies to an output buffer. One writer per reply being built; it holds
// only a reference to the buffer and the protocol version the client chose with HELLO,
// and allocates nothing beyond the buffer's own growth. Where RESP2 has no equivalent of
// a RESP3 type, the writer emits what Redis emits to a RESP2 client, so command code
// writes each reply once for both versions.
namespace stairkv::protocol {

class reply_writer {
 public:
  explicit reply_writer(std::string& out, int resp_version = 2)
      : out_(out), resp3_(resp_version >= 3) {}

  int resp_version() const { return resp3_ ? 3 : 2; }

  // "+OK".
  void ok();

  // A status reply "+text". CR and LF are replaced by spaces: they would end the line
  // early and desynchronise the client.
  void simple(std::string_view text);

  // An error reply "-message". `message` starts with the error code, e.g.
  // "ERR unknown command" or "WRONGTYPE Operation against a key ...". CR and LF are
  // replaced by spaces, as Redis does.
  void error(std::string_view message);

  // ":value".
  void integer(std::int64_t value);

  // "$length\r\nbytes": binary-safe.
  void bulk(std::string_view bytes);

  // A bulk whose bytes are the decimal form of `value` (what GET returns for a value
  // stored as an integer).
  void bulk_integer(std::int64_t value);

  // The missing value: "$-1" in RESP2, "_" in RESP3 (GET of a missing key).
  void null();

  // The missing aggregate: "*-1" in RESP2, "_" in RESP3 (a BLPOP timeout).
  void null_array();

  // Aggregate headers; the caller then writes exactly the announced number of elements.
  void array(std::size_t count);
  // `count` key/value pairs: "%count" in RESP3, a flat "*2count" array in RESP2.
  void map(std::size_t count);
  // "~count" in RESP3, "*count" in RESP2.
  void set(std::size_t count);
  // An out-of-band message (pub/sub): ">count" in RESP3, "*count" in RESP2.
  void push(std::size_t count);

  // "#t" / "#f" in RESP3, ":1" / ":0" in RESP2.
  void boolean(bool value);

  // ",value" in RESP3, a bulk of the same text in RESP2; formatted as "%.17g" with
  // "inf", "-inf" and "nan" spelled out (a sorted-set score).
  void double_value(double value);

  // Text meant for humans (INFO, CLIENT LIST): "=length\r\nfmt:text" in RESP3, where
  // `format` is three characters such as "txt"; a plain bulk in RESP2.
  void verbatim(std::string_view text, std::string_view format = "txt");

  // "(digits" in RESP3, a bulk of them in RESP2. CR and LF become spaces.
  void big_number(std::string_view digits);

  // A HELP reply: the lines as an array of status replies.
  template <std::size_t N>
  void help(const char* const (&lines)[N]) {
    array(N);
    for (const char* line : lines)
      simple(line);
  }

 private:
  void line(char type, std::string_view text);
  void header(char type, std::int64_t value);

  std::string& out_;
  bool resp3_;
};

}  // namespace stairkv::protocol
