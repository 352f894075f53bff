// libFuzzer target for protocol::request_parser.
//
// Every input is treated as the byte stream one client sends on one connection. The
// stream is delivered several ways: in one read, one byte per read, and in reads whose
// sizes follow from the input's first byte. Each delivery drives the parser the way the
// gateway does (modules/gateway/resp_gateway.cpp: consume(), on_data(), resume_input()):
// parse straight from the read while nothing is buffered, keep only the unparsed tail,
// append the next read to that tail and drop exactly consumed() bytes after each call,
// pause after a multi-step command and go on with the buffered tail later, lift the
// unauthenticated limits after AUTH, and stop reading after a protocol error. Inputs of
// odd length start unauthenticated.
//
// Checked on every call, in addition to what ASan and UBSan catch:
// - consumed() never exceeds the bytes passed, and a command consumes at least a byte;
// - a command has at least one argument, and no argument that points into the caller's
//   buffer reaches past the bytes the command consumed; other statuses leave args()
//   empty;
// - bytes_needed_hint() is at most a maximal bulk payload plus its CRLF, and while it
//   says n bytes are missing, fewer than n more bytes never complete a command;
// - heap storage stays proportional to the bytes that arrived, and the bytes the parser
//   examines stay linear in the input (no rescanning);
// - an error is sticky: further calls return the same error and parse nothing, until
//   reset(), after which the parser accepts a plain command again.
// Across deliveries: the same commands (argument by argument), the same error or none,
// and the same number of bytes left waiting for more input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/fuzz/pieces.hpp"
#include "modules/protocol/limits.hpp"
#include "modules/protocol/request_parser.hpp"

namespace {

using stairkv::protocol::request_parser;
using status = request_parser::status;

void expect(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "request_parser_fuzz: check failed: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

struct outcome {
  std::vector<std::vector<std::string>> commands;
  bool failed = false;
  std::string error;
  std::size_t pending = 0;  // bytes still buffered, waiting for the rest of a command
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

// One client connection as the gateway keeps it: a parser, the buffered unparsed tail,
// whether input is paused behind a multi-step command, whether the client has
// authenticated, and whether the connection is closing after a protocol error.
class connection {
 public:
  explicit connection(bool unauthenticated) : authenticated_(!unauthenticated) {
    parser_.set_unauthenticated(unauthenticated);
  }

  // Delivers one read. The bytes are copied into a vector of exactly `size` elements;
  // built with _GLIBCXX_SANITIZE_VECTOR, ASan then reports any read past the end of
  // what the parser was given, into the spare capacity as well as beyond it.
  void on_data(const std::uint8_t* bytes, std::size_t size) {
    fed_ += size;
    read_.assign(bytes, bytes + size);
    const char* read = read_.data();
    if (closing_) {
      // The gateway reads nothing more; the parser must agree that it is stuck.
      check_sticky_error(read, size);
      return;
    }
    // A paused command finishes before this read is handled.
    if (waiting_) resume();
    if (closing_) return;
    const std::size_t hint = hint_;
    const std::size_t commands_before = result_.commands.size();
    if (input_.empty()) {
      const std::size_t used = consume(read, size);
      if (used < size && !closing_) input_.assign(read + used, read + size);
    } else {
      input_.insert(input_.end(), read, read + size);
      const std::size_t used = consume(input_.data(), input_.size());
      input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(used));
    }
    if (hint > 0 && size < hint) {
      expect(result_.commands.size() == commands_before && !closing_,
             "fewer bytes than bytes_needed_hint() finished the pending command");
    }
  }

  // Ends the stream and returns what was parsed. Leaves the parser reset.
  outcome finish() {
    while (waiting_ && !closing_) resume();
    result_.pending = closing_ ? 0 : input_.size();
    static constexpr char ping[] = "*1\r\n$4\r\nPING\r\n";
    const std::size_t ping_size = sizeof ping - 1;
    if (closing_) check_sticky_error(ping, ping_size);
    parser_.reset();
    expect(parser_.parse(ping, ping_size) == status::command, "reset() parser parses PING");
    expect(parser_.consumed() == ping_size, "reset() parser consumes all of PING");
    expect(parser_.args().size() == 1 && parser_.args()[0] == "PING",
           "reset() parser reads PING's argument");
    expect(parser_.error().empty(), "reset() forgets the error");
    return std::move(result_);
  }

 private:
  // The gateway's resume_input(): the paused command has finished, so the buffered
  // commands behind it are parsed.
  void resume() {
    waiting_ = false;
    if (input_.empty()) return;
    const std::size_t used = consume(input_.data(), input_.size());
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(used));
  }

  // What the gateway does with a command that matters to the parser: a successful AUTH
  // (or HELLO ... AUTH) lifts the unauthenticated limits, and RENAME, RENAMENX and
  // MSETNX run in steps, pausing the client's later input until they finish. Passwords
  // are taken as right.
  void execute(const std::vector<std::string>& argv) {
    const std::string& name = argv[0];
    if (!authenticated_) {
      bool authenticates = equals_ignoring_case(name, "auth");
      if (equals_ignoring_case(name, "hello")) {
        for (std::size_t i = 2; i + 2 < argv.size(); ++i) {
          if (equals_ignoring_case(argv[i], "auth")) authenticates = true;
        }
      }
      if (!authenticates) return;  // refused with NOAUTH
      authenticated_ = true;
      parser_.set_unauthenticated(false);
      return;
    }
    if (equals_ignoring_case(name, "rename") || equals_ignoring_case(name, "renamenx") ||
        equals_ignoring_case(name, "msetnx")) {
      waiting_ = true;
    }
  }

  // Parses every complete command in `data` and returns how many bytes were consumed,
  // as the gateway's consume() does.
  std::size_t consume(const char* data, std::size_t size) {
    std::size_t pos = 0;
    hint_ = 0;
    while (!closing_ && !waiting_) {
      ++calls_;
      const status result = parser_.parse(data + pos, size - pos);
      const std::size_t used = parser_.consumed();
      expect(used <= size - pos, "consumed() is within the bytes given");
      if (result != status::command) expect(parser_.args().empty(), "no args unless a command");
      if (result == status::error) {
        expect(!parser_.error().empty(), "an error has a message");
        result_.failed = true;
        result_.error.assign(parser_.error());
        closing_ = true;
        pos = size;
        break;
      }
      if (result == status::need_more) {
        pos += used;
        hint_ = parser_.bytes_needed_hint();
        expect(hint_ <= stairkv::protocol::max_bulk_length + 2,
               "bytes_needed_hint() is at most a maximal bulk and its CRLF");
        break;
      }
      expect(result == status::command, "parse() returns a known status");
      expect(used > 0, "a command consumes at least one byte");
      const auto& args = parser_.args();
      expect(!args.empty(), "a command has arguments");
      const char* command_begin = data + pos;
      const char* command_end = command_begin + used;
      const char* buffer_end = data + size;
      std::vector<std::string> copy;
      copy.reserve(args.size());
      for (std::string_view arg : args) {
        if (!arg.empty() && arg.data() >= command_begin && arg.data() < buffer_end) {
          expect(arg.data() + arg.size() <= command_end,
                 "an argument in the buffer lies within its command");
        }
        copy.emplace_back(arg);
      }
      pos += used;
      execute(copy);
      result_.commands.push_back(std::move(copy));
    }
    expect(parser_.memory_usage() <= 64 * 1024 + 64 * fed_,
           "memory_usage() is proportional to the input");
    expect(parser_.bytes_examined() <= 4 * fed_ + 4 * calls_ + 64,
           "bytes_examined() is linear in the input");
    return pos;
  }

  void check_sticky_error(const char* data, std::size_t size) {
    const std::string before(parser_.error());
    expect(parser_.parse(data, size) == status::error, "an error is sticky");
    expect(parser_.args().empty(), "nothing is parsed after an error");
    expect(parser_.consumed() == 0, "nothing is consumed after an error");
    expect(parser_.error() == before, "the error message stays the same");
  }

  request_parser parser_;
  std::vector<char> read_;   // the current read
  std::vector<char> input_;  // the unparsed tail the gateway keeps between reads
  bool authenticated_;
  bool waiting_ = false;   // input paused behind a multi-step command
  bool closing_ = false;
  std::size_t hint_ = 0;   // bytes_needed_hint() after the last call, if need_more
  std::size_t fed_ = 0;    // bytes delivered so far
  std::size_t calls_ = 0;  // parse() calls so far
  outcome result_;
};

// Whether a stream starts on a connection that has not authenticated (requirepass is
// set): chosen by the input's length, so that both kinds see every sort of input.
bool starts_unauthenticated(std::size_t size) { return size % 2 == 1; }

outcome deliver_whole(const std::uint8_t* data, std::size_t size) {
  connection conn(starts_unauthenticated(size));
  if (size > 0) conn.on_data(data, size);
  return conn.finish();
}

outcome deliver_bytewise(const std::uint8_t* data, std::size_t size) {
  connection conn(starts_unauthenticated(size));
  for (std::size_t i = 0; i < size; ++i) conn.on_data(data + i, 1);
  return conn.finish();
}

// Read sizes chosen by the first byte (tests/fuzz/pieces.hpp).
outcome deliver_chunked(const std::uint8_t* data, std::size_t size) {
  connection conn(starts_unauthenticated(size));
  stairkv::fuzz::feed_in_pieces(data, size, [&](const std::uint8_t* piece, std::size_t n) {
    conn.on_data(piece, n);
  });
  return conn.finish();
}

void expect_same(const outcome& a, const outcome& b, const char* delivery) {
  if (a.commands == b.commands && a.failed == b.failed && a.error == b.error &&
      a.pending == b.pending) {
    return;
  }
  std::fprintf(stderr,
               "request_parser_fuzz: %s delivery differs from one read:\n"
               "  one read: %zu commands, error \"%s\", %zu bytes pending\n"
               "  %s: %zu commands, error \"%s\", %zu bytes pending\n",
               delivery, a.commands.size(), a.error.c_str(), a.pending, delivery,
               b.commands.size(), b.error.c_str(), b.pending);
  expect(false, "every delivery of a stream parses the same");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const outcome whole = deliver_whole(data, size);
  expect_same(whole, deliver_bytewise(data, size), "byte-by-byte");
  expect_same(whole, deliver_chunked(data, size), "chunked");
  return 0;
}
