#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include "modules/protocol/reply_reader.hpp"

// Reaching the server: its address, TCP sockets, and a blocking connection for the
// side channels (INFO polling, CONFIG, the expiry probe). The load itself runs on
// non-blocking sockets in load_runner.
namespace stairkv::bench {

// The server cannot be reached, closed a connection, or stopped answering. The message
// is meant for the user as it is, e.g. "server at 127.0.0.1:6379 closed the
// connection".
class connection_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct server_address {
  std::string host;
  std::uint16_t port = 0;
  sockaddr_storage address{};
  socklen_t length = 0;

  // "127.0.0.1:6379"
  std::string describe() const;
};

// Resolves host and port once; throws connection_error when the name does not resolve.
server_address resolve(const std::string& host, std::uint16_t port);

// A connected TCP socket with TCP_NODELAY, blocking. Throws connection_error, e.g.
// "cannot connect to server at 127.0.0.1:6379: connection refused".
int connect_socket(const server_address& server);

// "connection refused" for ECONNREFUSED: strerror, lower-cased, for messages.
std::string describe_errno(int error);

// One blocking request/reply connection. Every wait is bounded by `timeout`: a server
// that stops answering becomes a connection_error, not a hang.
class blocking_connection {
 public:
  blocking_connection(const server_address& server, std::chrono::milliseconds timeout);
  ~blocking_connection();
  blocking_connection(const blocking_connection&) = delete;
  blocking_connection& operator=(const blocking_connection&) = delete;

  // Sends a command and returns its reply (which may be an error reply).
  protocol::reply command(std::initializer_list<std::string_view> args);

  // Sends raw request bytes.
  void send(std::string_view bytes);

  // The next reply, waiting for it as long as the timeout allows.
  protocol::reply read_reply();

  // Waits up to `wait` for input and reads what has arrived; returns the number of
  // bytes read, 0 if nothing came in time.
  std::size_t receive(std::chrono::milliseconds wait);

  // Takes the next complete reply out of what has been received; false when the input
  // holds none yet.
  bool next_reply(protocol::reply& out);

 private:
  [[noreturn]] void closed() const;

  std::string server_;
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string input_;
  std::size_t consumed_ = 0;  // bytes of input_ already returned as replies
  protocol::reply_reader reader_;
};

}  // namespace stairkv::bench
