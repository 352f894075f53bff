// Runs a stairkv-server binary as a child process for integration tests.
//
// The server is always started with `--port=0 --bind=127.0.0.1` (plus any extra
// arguments), so every test gets its own ephemeral port and tests can run in
// parallel. Its stdout and stderr are drained by a background thread into an
// in-memory log; the constructor blocks until the log shows the line
// "Ready to accept connections on <host>:<port>" and takes the port from it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stairkv::testing {

// Where the server binary lives: $STAIRKV_SERVER if set, else ./stairkv-server
// (the runfiles root of workspace `stairkv` is a Bazel test's working directory).
std::string server_binary_path();

class server_process {
public:
  static constexpr std::chrono::seconds default_ready_timeout{30};
  static constexpr std::chrono::seconds default_stop_timeout{30};

  // Starts the server and waits until it accepts connections; an extra
  // argument that is not an option ("--name=value") comes first, as the path
  // of a config file. Throws
  // std::runtime_error (with the server's output) if it cannot be started,
  // exits before it is ready, or is not ready within `ready_timeout`.
  explicit server_process(std::vector<std::string> extra_args = {},
                          std::chrono::milliseconds ready_timeout
                          = default_ready_timeout);

  // Stops the server (SIGTERM) if it still runs.
  ~server_process();

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  uint16_t port() const {
    return port_;
  }

  pid_t pid() const {
    return pid_;
  }

  // The full command line the server was started with, for messages.
  std::string command_line() const;

  // Everything the server wrote to stdout and stderr so far.
  std::string log() const;

  // Waits until the log contains `needle`; false on timeout or server exit.
  bool wait_for_log(const std::string& needle,
                    std::chrono::milliseconds timeout) const;

  // True while the child has not exited (does not reap it).
  bool running() const;

  // Sends SIGTERM, waits for the process to exit (SIGKILL after
  // `timeout`) and returns its exit code, or 128 + signal number if a signal
  // ended it. Calling stop() again returns the same value.
  int stop(std::chrono::milliseconds timeout = default_stop_timeout);

  // "exited with status 0", "killed by signal 11 (Segmentation fault)", ...
  static std::string describe_status(int status);

private:
  void read_output(int fd);
  void shut_down_reader();

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool stopped_ = false;
  int exit_status_ = -1;

  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::string log_;
  size_t dropped_bytes_ = 0;
  bool output_closed_ = false;
  std::thread reader_;
};

// Raises the soft RLIMIT_NOFILE of this process to at least `wanted` (bounded
// by the hard limit) and returns the resulting soft limit. Child processes
// started afterwards inherit it.
uint64_t raise_open_file_limit(uint64_t wanted);

// A fresh directory for one test's files, under $TEST_TMPDIR (or /tmp), named
// `<prefix>-XXXXXX`. Throws std::runtime_error when it cannot be made.
std::string make_test_dir(const std::string& prefix);

// A loopback port that nothing listened on a moment ago (for the second
// ports a test gives the node: --caf-port, --tls-port). Throws on failure.
std::uint16_t free_port();

// Test certificates made with /usr/bin/openssl in `dir`: ca.crt/ca.key, a
// server certificate for 127.0.0.1 (server.crt/server.key) and a client one
// (client.crt/client.key), both signed by the CA. Throws with openssl's
// output when it fails.
void make_test_certificates(const std::string& dir);

} // namespace stairkv::testing
