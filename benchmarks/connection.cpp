#include "benchmarks/connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "benchmarks/workload.hpp"

namespace stairkv::bench {

namespace {

constexpr std::size_t receive_chunk = 64 * 1024;

}  // namespace

std::string server_address::describe() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string describe_errno(int error) {
  std::string text = std::strerror(error);
  if (!text.empty())
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

server_address resolve(const std::string& host, std::uint16_t port) {
  server_address server;
  server.host = host;
  server.port = port;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (status != 0 || found == nullptr) {
    throw connection_error("cannot resolve server address " + server.describe() + ": " +
                           ::gai_strerror(status));
  }
  std::memcpy(&server.address, found->ai_addr, found->ai_addrlen);
  server.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return server;
}

int connect_socket(const server_address& server) {
  const int fd = ::socket(server.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw connection_error("cannot create a socket: " + describe_errno(errno));
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&server.address), server.length) !=
      0) {
    const int error = errno;
    ::close(fd);
    throw connection_error("cannot connect to server at " + server.describe() + ": " +
                           describe_errno(error));
  }
  // Requests are written in whole batches; Nagle's algorithm would only hold the
  // next batch back waiting for an acknowledgement.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

blocking_connection::blocking_connection(const server_address& server,
                                         std::chrono::milliseconds timeout)
    : server_(server.describe()), fd_(connect_socket(server)), timeout_(timeout) {}

blocking_connection::~blocking_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void blocking_connection::closed() const {
  throw connection_error("server at " + server_ + " closed the connection");
}

void blocking_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (ready == 0) {
      throw connection_error("server at " + server_ + " stopped reading requests");
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw connection_error("poll failed: " + describe_errno(errno));
    }
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      closed();
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

protocol::reply blocking_connection::command(std::initializer_list<std::string_view> args) {
  std::string request;
  append_command(request, args);
  send(request);
  return read_reply();
}

std::size_t blocking_connection::receive(std::chrono::milliseconds wait) {
  pollfd p{fd_, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&p, 1, static_cast<int>(wait.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return 0;
  // Replies already taken are dropped only now, once per read rather than once per
  // reply; a partial reply stays at the front, where the reader expects it.
  input_.erase(0, consumed_);
  consumed_ = 0;
  const std::size_t old_size = input_.size();
  input_.resize(old_size + receive_chunk);
  const ssize_t got = ::recv(fd_, &input_[old_size], receive_chunk, 0);
  input_.resize(old_size + (got > 0 ? static_cast<std::size_t>(got) : 0));
  if (got == 0) closed();
  if (got < 0) {
    if (errno == EINTR || errno == EAGAIN) return 0;
    closed();
  }
  return static_cast<std::size_t>(got);
}

bool blocking_connection::next_reply(protocol::reply& out) {
  if (consumed_ == input_.size()) return false;
  const std::string_view pending = std::string_view(input_).substr(consumed_);
  const protocol::read_status status = reader_.read(pending);
  if (status == protocol::read_status::incomplete) return false;
  if (status == protocol::read_status::malformed) {
    throw connection_error("server at " + server_ + " sent a malformed reply (" +
                           std::string(reader_.error()) + ")");
  }
  out = std::move(reader_.value());
  consumed_ += reader_.consumed();
  return true;
}

protocol::reply blocking_connection::read_reply() {
  protocol::reply reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    if (next_reply(reply)) return reply;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw connection_error("server at " + server_ + " did not answer within " +
                             std::to_string(timeout_.count() / 1000) + " s");
    }
    receive(left);
  }
}

}  // namespace stairkv::bench
