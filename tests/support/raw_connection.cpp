#include "tests/support/raw_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tests/support/child_process.hpp"

namespace stairkv::testing {

namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error("raw connection: " + what + ": "
                            + std::strerror(errno));
}

} // namespace

std::string encode_command(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& arg : argv) {
    out += "$" + std::to_string(arg.size()) + "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

raw_connection::raw_connection(uint16_t port) {
  ignore_sigpipe();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw sys_error("socket");
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc;
  do {
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    auto err = sys_error("connect to 127.0.0.1:" + std::to_string(port));
    ::close(fd_);
    fd_ = -1;
    throw err;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

raw_connection::~raw_connection() {
  close();
}

bool raw_connection::send_all(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent,
                       MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return false;
    } else {
      throw sys_error("send");
    }
  }
  return true;
}

bool raw_connection::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_)
    return false;
  auto now = std::chrono::steady_clock::now();
  if (now >= deadline)
    return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline
                                                                    - now);
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
  if (ready < 0) {
    if (errno == EINTR)
      return true;
    throw sys_error("poll");
  }
  if (ready == 0)
    return false;
  char buf[64 * 1024];
  ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n > 0) {
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  if (n < 0 && errno == EINTR)
    return true;
  if (n < 0 && errno != ECONNRESET)
    throw sys_error("recv");
  eof_ = true;
  reset_ = n < 0;
  return false;
}

std::string raw_connection::read_exactly(size_t n,
                                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.size() < n && fill(deadline)) {
    // keep reading
  }
  size_t take = std::min(n, buffer_.size());
  std::string out = buffer_.substr(0, take);
  buffer_.erase(0, take);
  return out;
}

std::string raw_connection::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  if (take_line(line, deadline))
    return line + "\r\n";
  line.swap(buffer_);
  return line;
}

bool raw_connection::take_line(std::string& line,
                               std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto pos = buffer_.find("\r\n");
    if (pos != std::string::npos) {
      line = buffer_.substr(0, pos);
      buffer_.erase(0, pos + 2);
      return true;
    }
    if (!fill(deadline))
      return false;
  }
}

resp_value raw_connection::read_reply(std::chrono::milliseconds timeout) {
  resp_value value;
  if (!read_value(value, std::chrono::steady_clock::now() + timeout))
    value.type = 0;
  return value;
}

bool raw_connection::read_value(resp_value& out,
                                std::chrono::steady_clock::time_point deadline) {
  std::string line;
  if (!take_line(line, deadline) || line.empty())
    return false;
  out.type = line[0];
  std::string rest = line.substr(1);
  auto parse_int = [&](long long& into) {
    errno = 0;
    char* end = nullptr;
    into = std::strtoll(rest.c_str(), &end, 10);
    return errno == 0 && !rest.empty() && *end == '\0';
  };
  switch (out.type) {
    case '+':
    case '-':
      out.text = rest;
      return true;
    case ':':
      return parse_int(out.integer);
    case '$': {
      long long len = 0;
      if (!parse_int(len) || len < -1)
        return false;
      if (len == -1) {
        out.nil = true;
        return true;
      }
      size_t wanted = static_cast<size_t>(len) + 2;
      while (buffer_.size() < wanted && fill(deadline)) {
        // keep reading
      }
      if (buffer_.size() < wanted)
        return false;
      std::string payload = buffer_.substr(0, wanted);
      buffer_.erase(0, wanted);
      if (payload.compare(payload.size() - 2, 2, "\r\n") != 0)
        return false;
      out.text = payload.substr(0, payload.size() - 2);
      return true;
    }
    case '*': {
      long long count = 0;
      if (!parse_int(count) || count < -1)
        return false;
      if (count == -1) {
        out.nil = true;
        return true;
      }
      out.elements.resize(static_cast<size_t>(count));
      for (auto& element : out.elements)
        if (!read_value(element, deadline))
          return false;
      return true;
    }
    default:
      return false;
  }
}

raw_connection::ending
raw_connection::read_until_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fill(deadline)) {
    // keep reading
  }
  ending result;
  result.data.swap(buffer_);
  result.closed = eof_;
  result.reset = reset_;
  result.timed_out = !eof_;
  return result;
}

void raw_connection::shutdown_write() {
  if (::shutdown(fd_, SHUT_WR) != 0)
    throw sys_error("shutdown");
}

void raw_connection::close_with_reset() {
  if (fd_ < 0)
    return;
  linger lg;
  lg.l_onoff = 1;
  lg.l_linger = 0;
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close();
}

void raw_connection::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

} // namespace stairkv::testing
