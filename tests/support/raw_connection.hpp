// A plain TCP connection for sending arbitrary bytes to the server and reading
// back exactly what it answers, including whether and how it closes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace stairkv::testing {

// A RESP2 reply as read off the wire by raw_connection::read_reply().
struct resp_value {
  char type = 0;                   // '+', '-', ':', '$' or '*'; 0: incomplete
  bool nil = false;                // $-1 or *-1
  std::string text;                // '+', '-' and '$' payloads
  long long integer = 0;           // ':' value
  std::vector<resp_value> elements; // '*' elements
};

// The RESP encoding of a command: *<argc>\r\n then $<len>\r\n<arg>\r\n each.
std::string encode_command(const std::vector<std::string>& argv);

class raw_connection {
public:
  static constexpr std::chrono::seconds default_timeout{30};

  // Connects to 127.0.0.1:port (blocking). Throws std::runtime_error.
  explicit raw_connection(uint16_t port);
  ~raw_connection();

  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // Sends all bytes. Returns false if the peer has closed the connection
  // (EPIPE, ECONNRESET); throws on other errors.
  bool send_all(const std::string& bytes);

  // Reads until `n` bytes arrived and returns them, or returns fewer if the
  // connection ended or the timeout passed first.
  std::string read_exactly(size_t n,
                           std::chrono::milliseconds timeout = default_timeout);

  // Reads one line including its "\r\n"; returns what arrived if the
  // connection ended or the timeout passed before the line was complete.
  std::string read_line(std::chrono::milliseconds timeout = default_timeout);

  // Reads one complete RESP2 reply (nested to any depth). The result has type
  // 0 if the connection ended, the timeout passed or the data did not parse.
  resp_value read_reply(std::chrono::milliseconds timeout = default_timeout);

  struct ending {
    std::string data;       // bytes received before the end
    bool closed = false;    // orderly EOF or connection reset
    bool reset = false;     // the end was a reset (ECONNRESET)
    bool timed_out = false; // still open when the timeout passed
  };

  // Reads everything until the server closes the connection.
  ending read_until_closed(std::chrono::milliseconds timeout = default_timeout);

  // Half-closes: the server sees EOF, this side can still read.
  void shutdown_write();

  // Closes abruptly: SO_LINGER 0 makes the kernel send a reset.
  void close_with_reset();

  // Closes normally (FIN). Idempotent.
  void close();

  int fd() const {
    return fd_;
  }

private:
  // Appends whatever arrives within the time left to buffer_; false once the
  // connection ended or the deadline passed.
  bool fill(std::chrono::steady_clock::time_point deadline);

  bool read_value(resp_value& out, std::chrono::steady_clock::time_point deadline);
  bool take_line(std::string& line, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
  bool reset_ = false;
};

} // namespace stairkv::testing
