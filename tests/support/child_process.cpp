#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace stairkv::testing {

namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// A pipe whose two ends are close-on-exec in this process.
void make_pipe(int (&fds)[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw sys_error("pipe2");
}

void close_if_open(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void exec_child(char* const* argv, int in_fd, int out_fd,
                             int err_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) // the parent died before prctl took effect
    ::_exit(127);
  // dup2 clears close-on-exec on the new descriptor.
  if (::dup2(in_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0
      || ::dup2(err_fd, STDERR_FILENO) < 0)
    ::_exit(127);
  // Test processes ignore SIGPIPE; ignored signals survive exec, so restore
  // the defaults and an empty signal mask for the program.
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD})
    ::signal(sig, SIG_DFL);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  // Sockets opened by other tests of this process (hiredis does not mark them
  // close-on-exec) must not stay open in the child.
  if (::close_range(3, UINT_MAX, 0) != 0) {
    long max_fd = ::sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < max_fd; ++fd)
      ::close(static_cast<int>(fd));
  }
  ::execv(argv[0], argv);
  const char* msg = "test harness: exec failed: ";
  (void) !::write(STDERR_FILENO, msg, std::strlen(msg));
  const char* why = std::strerror(errno);
  (void) !::write(STDERR_FILENO, why, std::strlen(why));
  (void) !::write(STDERR_FILENO, ": ", 2);
  (void) !::write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
  (void) !::write(STDERR_FILENO, "\n", 1);
  ::_exit(127);
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string result;
  for (const auto& arg : argv) {
    if (!result.empty())
      result += ' ';
    result += arg;
  }
  return result;
}

std::string env_or(const char* name, const char* fallback) {
  if (const char* env = std::getenv(name); env != nullptr && *env)
    return env;
  return fallback;
}

} // namespace

void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

pid_t spawn_child(const std::vector<std::string>& argv, bool pipe_stdin,
                  stderr_mode mode, child_pipes& pipes) {
  if (argv.empty())
    throw std::invalid_argument("spawn_child: empty argv");
  ignore_sigpipe();
  // Everything the child needs is prepared before fork(): the child of a
  // multi-threaded process must not allocate.
  std::vector<char*> c_argv;
  for (const auto& arg : argv)
    c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  try {
    if (pipe_stdin) {
      make_pipe(in);
    } else {
      in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (in[0] < 0)
        throw sys_error("open /dev/null");
    }
    make_pipe(out);
    if (mode == stderr_mode::own_pipe)
      make_pipe(err);
  } catch (...) {
    for (int* fd : {&in[0], &in[1], &out[0], &out[1], &err[0], &err[1]})
      close_if_open(*fd);
    throw;
  }
  int child_err = mode == stderr_mode::own_pipe ? err[1] : out[1];
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0)
    exec_child(c_argv.data(), in[0], out[1], child_err, parent);
  int fork_errno = errno;
  close_if_open(in[0]);
  close_if_open(out[1]);
  close_if_open(err[1]);
  if (pid < 0) {
    close_if_open(in[1]);
    close_if_open(out[0]);
    close_if_open(err[0]);
    errno = fork_errno;
    throw sys_error("fork");
  }
  pipes.stdin_fd = in[1];
  pipes.stdout_fd = out[0];
  pipes.stderr_fd = err[0];
  return pid;
}

int wait_for_child(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t res = ::waitpid(pid, &status, 0);
    if (res == pid)
      break;
    if (res < 0 && errno == EINTR)
      continue;
    return -1;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

std::string process_result::describe() const {
  std::string result = "command: " + command + "\n";
  if (timed_out)
    result += "timed out and was killed\n";
  result += "exit code: " + std::to_string(exit_code) + "\n";
  result += "--- stdout ---\n" + out + "\n--- stderr ---\n" + err
            + "\n--- end ---";
  return result;
}

process_result run_process(const std::vector<std::string>& argv,
                           const std::string& stdin_text,
                           std::chrono::milliseconds timeout) {
  process_result result;
  result.command = join_command(argv);
  child_pipes pipes;
  pid_t pid = spawn_child(argv, true, stderr_mode::own_pipe, pipes);
  ::fcntl(pipes.stdin_fd, F_SETFL, ::fcntl(pipes.stdin_fd, F_GETFL) | O_NONBLOCK);
  size_t written = 0;
  if (stdin_text.empty())
    close_if_open(pipes.stdin_fd);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[64 * 1024];
  while (pipes.stdout_fd >= 0 || pipes.stderr_fd >= 0) {
    pollfd fds[3];
    int count = 0;
    int in_idx = -1;
    int out_idx = -1;
    int err_idx = -1;
    if (pipes.stdin_fd >= 0) {
      in_idx = count;
      fds[count++] = pollfd{pipes.stdin_fd, POLLOUT, 0};
    }
    if (pipes.stdout_fd >= 0) {
      out_idx = count;
      fds[count++] = pollfd{pipes.stdout_fd, POLLIN, 0};
    }
    if (pipes.stderr_fd >= 0) {
      err_idx = count;
      fds[count++] = pollfd{pipes.stderr_fd, POLLIN, 0};
    }
    auto now = std::chrono::steady_clock::now();
    if (!result.timed_out && now >= deadline) {
      // Kill it; its pipes then reach EOF and the loop drains them.
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      close_if_open(pipes.stdin_fd);
      continue;
    }
    int wait_ms = -1;
    if (!result.timed_out) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - now);
      wait_ms = static_cast<int>(left.count()) + 1;
    }
    int ready = ::poll(fds, static_cast<nfds_t>(count), wait_ms);
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      ::kill(pid, SIGKILL);
      wait_for_child(pid);
      throw sys_error("poll");
    }
    if (in_idx >= 0 && fds[in_idx].revents != 0) {
      ssize_t n = ::write(pipes.stdin_fd, stdin_text.data() + written,
                          stdin_text.size() - written);
      if (n > 0)
        written += static_cast<size_t>(n);
      // All written, or the child closed its stdin: no more input.
      if (written == stdin_text.size()
          || (n < 0 && errno != EAGAIN && errno != EINTR))
        close_if_open(pipes.stdin_fd);
    }
    auto drain = [&](int idx, int& fd, std::string& into) {
      if (idx < 0 || fds[idx].revents == 0)
        return;
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n > 0)
        into.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        close_if_open(fd);
    };
    drain(out_idx, pipes.stdout_fd, result.out);
    drain(err_idx, pipes.stderr_fd, result.err);
  }
  close_if_open(pipes.stdin_fd);
  result.exit_code = wait_for_child(pid);
  return result;
}

std::string redis_cli_path() {
  return env_or("REDIS_CLI", "/usr/bin/redis-cli");
}

std::string redis_benchmark_path() {
  return env_or("REDIS_BENCHMARK", "/usr/bin/redis-benchmark");
}

process_result run_python(uint16_t port, const std::string& script,
                          std::chrono::milliseconds timeout) {
  return run_process({"/usr/bin/python3", "-", std::to_string(port)}, script, timeout);
}

process_result run_redis_cli(uint16_t port, const std::vector<std::string>& args,
                             const std::string& stdin_text,
                             std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{redis_cli_path(), "-h", "127.0.0.1", "-p",
                                std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, stdin_text, timeout);
}

process_result run_redis_benchmark(uint16_t port,
                                   const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{redis_benchmark_path(), "-h", "127.0.0.1", "-p",
                                std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, timeout);
}

} // namespace stairkv::testing
