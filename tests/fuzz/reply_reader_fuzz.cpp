// libFuzzer target for protocol::reply_reader.
//
// Every input is treated as the byte stream a server sends on one connection, and is
// delivered in one read, one byte per read, and in reads whose sizes follow from the
// input's first byte. Each delivery keeps a buffer that starts at the first byte of the
// reply being read, appends every read to it, calls read() until it is incomplete, and
// drops consumed() bytes after each complete reply, as a client would.
//
// Checked in addition to what ASan and UBSan catch:
// - a complete reply consumes at least one byte and no more than the buffer holds;
//   other results report nothing consumed;
// - malformed input is sticky: read() keeps returning it with the same message;
// - after reset() a plain reply is read again;
// - every delivery yields the same replies (compared as whole trees), the same error or
//   none, and the same number of bytes left waiting;
// - read_reply() on the whole stream agrees with the first reply of one read.

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
#include "modules/protocol/reply_reader.hpp"

namespace {

using stairkv::protocol::read_status;
using stairkv::protocol::reply;
using stairkv::protocol::reply_reader;

void expect(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "reply_reader_fuzz: check failed: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

void append_number(std::string& out, std::uint64_t value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof bytes);
}

void append_text(std::string& out, const std::string& text) {
  append_number(out, text.size());
  out.append(text);
}

// A byte string that is equal for two replies exactly when their trees are equal
// (doubles compared by bit pattern, so that NaN equals itself).
void encode(const reply& value, std::string& out) {
  out.push_back(static_cast<char>(value.type));
  append_text(out, value.text);
  append_number(out, static_cast<std::uint64_t>(value.integer));
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value.number, sizeof bits);
  append_number(out, bits);
  append_text(out, value.format);
  append_number(out, value.elements.size());
  for (const reply& element : value.elements) encode(element, out);
}

struct outcome {
  std::vector<std::string> replies;  // encoded
  bool failed = false;
  std::string error;
  std::size_t pending = 0;
};

class client {
 public:
  void on_data(const std::uint8_t* bytes, std::size_t size) {
    if (failed_) {
      check_sticky_error(std::string_view(reinterpret_cast<const char*>(bytes), size));
      return;
    }
    input_.insert(input_.end(), bytes, bytes + size);
    for (;;) {
      const std::string_view view(input_.data(), input_.size());
      const read_status result = reader_.read(view);
      if (result == read_status::complete) {
        const std::size_t used = reader_.consumed();
        expect(used > 0, "a complete reply consumes at least one byte");
        expect(used <= view.size(), "consumed() is within the buffer");
        std::string encoded;
        encode(reader_.value(), encoded);
        result_.replies.push_back(std::move(encoded));
        input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(used));
        continue;
      }
      expect(reader_.consumed() == 0, "nothing is consumed before a reply completes");
      if (result == read_status::malformed) {
        expect(!reader_.error().empty(), "malformed input has a message");
        failed_ = true;
        result_.failed = true;
        result_.error.assign(reader_.error());
        input_.clear();
        return;
      }
      expect(result == read_status::incomplete, "read() returns a known status");
      return;
    }
  }

  outcome finish() {
    result_.pending = input_.size();
    if (failed_) check_sticky_error("+OK\r\n");
    reader_.reset();
    expect(reader_.read("+OK\r\n") == read_status::complete, "reset() reader reads +OK");
    expect(reader_.consumed() == 5, "reset() reader consumes all of +OK");
    expect(reader_.value().type == reply::kind::simple && reader_.value().text == "OK",
           "reset() reader decodes +OK");
    return std::move(result_);
  }

 private:
  void check_sticky_error(std::string_view more) {
    const std::string before(reader_.error());
    std::string buffer = "+OK\r\n";
    buffer.append(more);
    expect(reader_.read(buffer) == read_status::malformed, "malformed input is sticky");
    expect(reader_.consumed() == 0, "nothing is consumed after malformed input");
    expect(reader_.error() == before, "the error message stays the same");
  }

  reply_reader reader_;
  std::vector<char> input_;
  bool failed_ = false;
  outcome result_;
};

outcome deliver_whole(const std::uint8_t* data, std::size_t size) {
  client c;
  if (size > 0) c.on_data(data, size);
  return c.finish();
}

outcome deliver_bytewise(const std::uint8_t* data, std::size_t size) {
  client c;
  for (std::size_t i = 0; i < size; ++i) c.on_data(data + i, 1);
  return c.finish();
}

// Read sizes chosen by the first byte (tests/fuzz/pieces.hpp).
outcome deliver_chunked(const std::uint8_t* data, std::size_t size) {
  client c;
  stairkv::fuzz::feed_in_pieces(data, size, [&](const std::uint8_t* piece, std::size_t n) {
    c.on_data(piece, n);
  });
  return c.finish();
}

void expect_same(const outcome& a, const outcome& b, const char* delivery) {
  if (a.replies == b.replies && a.failed == b.failed && a.error == b.error &&
      a.pending == b.pending) {
    return;
  }
  std::fprintf(stderr,
               "reply_reader_fuzz: %s delivery differs from one read:\n"
               "  one read: %zu replies, error \"%s\", %zu bytes pending\n"
               "  %s: %zu replies, error \"%s\", %zu bytes pending\n",
               delivery, a.replies.size(), a.error.c_str(), a.pending, delivery,
               b.replies.size(), b.error.c_str(), b.pending);
  expect(false, "every delivery of a stream reads the same");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const outcome whole = deliver_whole(data, size);
  expect_same(whole, deliver_bytewise(data, size), "byte-by-byte");
  expect_same(whole, deliver_chunked(data, size), "chunked");

  reply first;
  const auto single = stairkv::protocol::read_reply(
      std::string_view(reinterpret_cast<const char*>(data), size), first);
  if (single.status == read_status::complete) {
    expect(!whole.replies.empty(), "read_reply() and read() agree on completeness");
    std::string encoded;
    encode(first, encoded);
    expect(encoded == whole.replies.front(), "read_reply() and read() decode the same");
  } else if (single.status == read_status::malformed) {
    expect(whole.replies.empty() && whole.failed && whole.error == single.error,
           "read_reply() and read() agree on malformed input");
  } else {
    expect(whole.replies.empty() && !whole.failed,
           "read_reply() and read() agree on incomplete input");
  }
  return 0;
}
