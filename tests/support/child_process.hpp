// Starting and waiting for child processes, and running the Redis command-line
// tools (redis-cli, redis-benchmark) against a test server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace stairkv::testing {

// Makes writes to closed sockets and pipes fail with EPIPE instead of killing
// the test process. Idempotent. Children get the default disposition back.
void ignore_sigpipe();

// Parent-side pipe ends of a spawned child; -1 where none was requested.
// All of them are close-on-exec.
struct child_pipes {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

enum class stderr_mode {
  merge_with_stdout, // the child's stderr goes into the stdout pipe
  own_pipe,          // the child's stderr gets a pipe of its own
};

// Forks and execs argv[0] (a path, not searched in PATH). The child's stdin
// is a pipe if `pipe_stdin`, else /dev/null; its stdout is always a pipe. The
// child gets no other descriptors of this process, default signal handling,
// the hard RLIMIT_NOFILE as its soft limit, and is killed if this process
// dies. Throws std::runtime_error if the fork fails; a failing exec makes the
// child print the reason and exit with status 127.
pid_t spawn_child(const std::vector<std::string>& argv, bool pipe_stdin,
                  stderr_mode mode, child_pipes& pipes);

// Waits for the child to exit and returns its exit code, or 128 + signal
// number if a signal ended it.
int wait_for_child(pid_t pid);

struct process_result {
  std::string command; // the command line, for messages
  std::string out;    // everything written to stdout
  std::string err;    // everything written to stderr
  int exit_code = -1; // exit code, or 128 + signal number
  bool timed_out = false;

  // Command line, exit code and both outputs, for assertion messages.
  std::string describe() const;
};

// Runs a program to completion, feeding it `stdin_text` and collecting its
// output. A program still running after `timeout` is killed (timed_out).
process_result run_process(const std::vector<std::string>& argv,
                           const std::string& stdin_text,
                           std::chrono::milliseconds timeout);

constexpr std::chrono::seconds default_tool_timeout{120};

// $REDIS_CLI if set, else /usr/bin/redis-cli.
std::string redis_cli_path();

// $REDIS_BENCHMARK if set, else /usr/bin/redis-benchmark.
std::string redis_benchmark_path();

// redis-cli -h 127.0.0.1 -p <port> <args...>, with `stdin_text` on stdin.
process_result run_redis_cli(uint16_t port, const std::vector<std::string>& args,
                             const std::string& stdin_text = {},
                             std::chrono::milliseconds timeout
                             = default_tool_timeout);

// A Python 3 script (Debian's /usr/bin/python3, with the client libraries the
// tests install: redis-py, RQ, Celery) run with the node's port as its one
// argument: python3 - <port>, the script on stdin.
process_result run_python(uint16_t port, const std::string& script,
                          std::chrono::milliseconds timeout = default_tool_timeout);

// redis-benchmark -h 127.0.0.1 -p <port> <args...>.
process_result run_redis_benchmark(uint16_t port,
                                   const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout
                                   = default_tool_timeout);

} // namespace stairkv::testing
