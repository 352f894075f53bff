#include "tests/support/server_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "tests/support/child_process.hpp"

namespace stairkv::testing {

namespace {

// The log keeps at most this many bytes; the rest is drained and counted.
constexpr size_t max_log_bytes = 8 * 1024 * 1024;

const std::regex& ready_line_pattern() {
  // The newline matters: the line may arrive in pieces, and a port cut short
  // would still match without it.
  static const std::regex pattern{"accept connections on [^ ]+:([0-9]+)\\r?\\n"};
  return pattern;
}

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

} // namespace

std::string server_binary_path() {
  if (const char* env = std::getenv("STAIRKV_SERVER"); env != nullptr && *env)
    return env;
  return "./stairkv-server";
}

server_process::server_process(std::vector<std::string> extra_args,
                               std::chrono::milliseconds ready_timeout) {
  argv_.push_back(server_binary_path());
  // A config file comes first, as the node wants it; the options after it
  // override what it says.
  auto first = extra_args.begin();
  if (first != extra_args.end() && first->rfind("--", 0) != 0)
    argv_.push_back(std::move(*first++));
  argv_.push_back("--port=0");
  argv_.push_back("--bind=127.0.0.1");
  for (auto it = first; it != extra_args.end(); ++it)
    argv_.push_back(std::move(*it));
  if (::access(argv_[0].c_str(), X_OK) != 0)
    throw std::runtime_error("server binary " + argv_[0]
                             + " is not executable (" + std::strerror(errno)
                             + "); set STAIRKV_SERVER to its path");
  child_pipes pipes;
  pid_ = spawn_child(argv_, false, stderr_mode::merge_with_stdout, pipes);
  reader_ = std::thread{[this, fd = pipes.stdout_fd] { read_output(fd); }};
  std::unique_lock<std::mutex> guard{mtx_};
  bool settled = cv_.wait_for(guard, ready_timeout,
                              [this] { return port_ != 0 || output_closed_; });
  if (port_ != 0)
    return;
  guard.unlock();
  // Not ready: the server died, closed its output or hangs. Collect what it
  // said and report it; the destructor will not run for a throwing constructor.
  std::string reason;
  if (!settled) {
    ::kill(pid_, SIGKILL);
    reason = "did not report \"Ready to accept connections on <host>:<port>\""
             " within "
             + std::to_string(ready_timeout.count()) + " ms";
  } else {
    ::kill(pid_, SIGKILL); // output closed but maybe still running
    reason = "closed its output before reporting readiness";
  }
  int status = wait_for_child(pid_);
  shut_down_reader();
  stopped_ = true;
  exit_status_ = status;
  throw std::runtime_error("server " + command_line() + " " + reason + "; "
                           + describe_status(status) + "\n--- server output ---\n"
                           + log() + "--- end of server output ---");
}

server_process::~server_process() {
  stop();
}

std::string server_process::command_line() const {
  std::string result;
  for (const auto& arg : argv_) {
    if (!result.empty())
      result += ' ';
    result += arg;
  }
  return result;
}

std::string server_process::log() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (dropped_bytes_ == 0)
    return log_;
  return log_ + "\n[... " + std::to_string(dropped_bytes_)
         + " more bytes of output not kept ...]\n";
}

bool server_process::wait_for_log(const std::string& needle,
                                  std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, timeout, [&] {
    return log_.find(needle) != std::string::npos || output_closed_;
  });
  return log_.find(needle) != std::string::npos;
}

bool server_process::running() const {
  if (stopped_)
    return false;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  // WNOWAIT leaves the child waitable, so stop() still reaps it.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info,
               WEXITED | WNOHANG | WNOWAIT)
      != 0)
    return false;
  return info.si_pid == 0;
}

int server_process::stop(std::chrono::milliseconds timeout) {
  if (stopped_)
    return exit_status_;
  ::kill(pid_, SIGTERM);
  bool closed;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    closed = cv_.wait_for(guard, timeout, [this] { return output_closed_; });
  }
  if (!closed) {
    ::kill(pid_, SIGKILL);
    std::lock_guard<std::mutex> guard{mtx_};
    log_ += "\n[test harness: no exit within " + std::to_string(timeout.count())
            + " ms of SIGTERM; sent SIGKILL]\n";
  }
  exit_status_ = wait_for_child(pid_);
  shut_down_reader();
  stopped_ = true;
  return exit_status_;
}

std::string server_process::describe_status(int status) {
  if (status < 0)
    return "exit status unknown";
  if (status < 128)
    return "exited with status " + std::to_string(status);
  int sig = status - 128;
  return "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig)
         + ")";
}

void server_process::read_output(int fd) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    std::lock_guard<std::mutex> guard{mtx_};
    size_t room = max_log_bytes - std::min(max_log_bytes, log_.size());
    size_t keep = std::min(room, static_cast<size_t>(n));
    log_.append(buf, keep);
    dropped_bytes_ += static_cast<size_t>(n) - keep;
    if (port_ == 0) {
      std::smatch match;
      if (std::regex_search(log_, match, ready_line_pattern())) {
        unsigned long value = std::stoul(match[1].str());
        if (value > 0 && value <= 65535)
          port_ = static_cast<uint16_t>(value);
      }
    }
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> guard{mtx_};
  output_closed_ = true;
  cv_.notify_all();
}

void server_process::shut_down_reader() {
  // The reader ends at EOF, which follows the child's exit (the pipe's write
  // end exists only in the child: it is close-on-exec everywhere else).
  if (reader_.joinable())
    reader_.join();
}

std::string make_test_dir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string{base != nullptr ? base : "/tmp"} + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed for " + pattern);
  return buf.data();
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error(std::string{"socket: "} + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

void make_test_certificates(const std::string& dir) {
  auto openssl = [](std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    auto r = run_process(args, "", std::chrono::seconds{60});
    if (r.exit_code != 0)
      throw std::runtime_error("openssl failed: " + r.describe());
  };
  const std::vector<std::string> curve{"-newkey", "ec", "-pkeyopt",
                                       "ec_paramgen_curve:P-256", "-nodes"};
  auto with_curve = [&](std::vector<std::string> head, const std::vector<std::string>& tail) {
    head.insert(head.end(), curve.begin(), curve.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  openssl(with_curve({"req", "-x509"}, {"-keyout", dir + "/ca.key", "-out", dir + "/ca.crt",
                                        "-days", "2", "-subj", "/CN=stairkv-test-ca"}));
  std::ofstream(dir + "/san.cnf") << "subjectAltName=IP:127.0.0.1\n";
  for (std::string who : {"server", "client"}) {
    openssl(with_curve({"req"}, {"-keyout", dir + "/" + who + ".key", "-out",
                                 dir + "/" + who + ".csr", "-subj", "/CN=" + who}));
    std::vector<std::string> sign{"x509", "-req", "-in", dir + "/" + who + ".csr", "-CA",
                                  dir + "/ca.crt", "-CAkey", dir + "/ca.key",
                                  "-CAcreateserial", "-out", dir + "/" + who + ".crt",
                                  "-days", "2"};
    if (who == "server") {
      sign.push_back("-extfile");
      sign.push_back(dir + "/san.cnf");
    }
    openssl(sign);
  }
}

uint64_t raise_open_file_limit(uint64_t wanted) {
  rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    throw std::runtime_error(errno_text("getrlimit(RLIMIT_NOFILE)"));
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= wanted)
    return lim.rlim_cur;
  rlim_t target = wanted;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < target)
    target = lim.rlim_max;
  lim.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
    throw std::runtime_error(errno_text("setrlimit(RLIMIT_NOFILE)"));
  return lim.rlim_cur;
}

} // namespace stairkv::testing
