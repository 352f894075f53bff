// gtest fixture: every test gets a fresh server and one connected client; the
// server must shut down with exit status 0 on SIGTERM after each test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_process.hpp"

namespace stairkv::testing {

class server_test : public ::testing::Test {
protected:
  // Extra command-line arguments for the server of each test.
  virtual std::vector<std::string> server_args() const {
    return {};
  }

  void SetUp() override {
    server_ = std::make_unique<server_process>(server_args());
    client_ = std::make_unique<hiredis_connection>(server_->port());
  }

  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) {
      int status = server_->stop();
      EXPECT_EQ(status, 0)
        << "server " << server_process::describe_status(status)
        << " after SIGTERM\n--- server output ---\n"
        << server_->log() << "--- end of server output ---";
    }
  }

  // Sends one command on the fixture's client and returns the reply.
  reply_ptr run(const std::vector<std::string>& argv) {
    return client_->command(argv);
  }

  uint16_t port() const {
    return server_->port();
  }

  server_process& server() {
    return *server_;
  }

  hiredis_connection& client() {
    return *client_;
  }

private:
  std::unique_ptr<server_process> server_;
  std::unique_ptr<hiredis_connection> client_;
};

} // namespace stairkv::testing
