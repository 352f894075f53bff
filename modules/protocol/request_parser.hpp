#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Incremental parser of client requests: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`)
// and inline commands (`GET k\r\n`, as typed into telnet). It never copies a bulk
// argument and never allocates on the strength of a length the client merely declared.
namespace stairkv::protocol {

class request_parser {
 public:
  enum class status {
    command,    // one full command is in args()
    need_more,  // the input ends inside a command; call again with more bytes appended
    error,      // the input is not a valid request; error() says why
  };

  request_parser();

  // Parses the next command from `data`, which must start at the first byte the caller
  // has not yet dropped: after every call (whatever its status) the caller removes
  // exactly consumed() bytes from the front of its buffer, appends whatever arrives
  // next, and passes the buffer again. The buffer may move in between; the parser keeps
  // only offsets into it.
  //
  // - `command`: args() holds the arguments, consumed() the bytes the command took
  //   (including any empty commands skipped before it).
  // - `need_more`: progress inside the partial command is kept, so the next call resumes
  //   where this one stopped instead of rescanning (a request with a million arguments
  //   arriving in small reads costs time linear in its size). consumed() is the number
  //   of bytes already done with (skipped empty commands), usually 0.
  // - `error`: error() holds Redis's message for the problem (without the "ERR "
  //   prefix). The state is sticky: later calls return `error` until reset(); Redis
  //   answers a protocol error by closing the connection, and so should the caller.
  //
  // Empty commands are skipped as Redis skips them: `*0` and negative counts such as
  // `*-1`, and inline lines that are empty or hold only spaces.
  status parse(const char* data, std::size_t size);
  status parse(std::string_view data) { return parse(data.data(), data.size()); }

  // Arguments of the command the last parse() returned. Each view points either into
  // the `data` of that call (multibulk arguments, plain inline words) or into the
  // parser's own storage (inline words that had quotes or escapes). They are valid until
  // the caller modifies its buffer or calls parse() again, whichever comes first.
  const std::vector<std::string_view>& args() const { return args_; }

  // Bytes of the input the last parse() is done with; see parse().
  std::size_t consumed() const { return consumed_; }

  // Why the input was rejected, e.g. "Protocol error: invalid bulk length".
  std::string_view error() const { return error_; }

  // At least how many more bytes the partial command needs, known only while a bulk
  // argument's payload is arriving (0 otherwise). The length is the client's claim, up
  // to max_bulk_length: a caller reserving buffer space from it should cap the step.
  std::size_t bytes_needed_hint() const;

  // Forgets any partial command and a sticky error (set_unauthenticated stays).
  void reset();

  // Applies the small limits for clients that have not authenticated yet (see
  // limits.hpp); off by default.
  void set_unauthenticated(bool on) { unauthenticated_ = on; }

  // Bytes of heap storage the parser holds (argument positions, unescaped inline words).
  // Bounded by what actually arrived, never by a declared count; reported in client
  // memory accounting and checked by the tests.
  std::size_t memory_usage() const;

  // Total input bytes the parser has looked at since construction or reset(): line
  // searches and number parsing, not bulk payloads, which are skipped over unread.
  // Lets tests check that incremental parsing never rescans.
  std::uint64_t bytes_examined() const { return bytes_examined_; }

 private:
  bool unauthenticated_ = false;
  enum class mode : std::uint8_t {
    idle,               // between commands
    multibulk_count,    // reading the `*N` line
    multibulk_args,     // reading `$len` lines and payloads
    inline_request,     // reading an inline line up to '\n'
  };

  // How one step over the current command ended.
  enum class step { command, empty_command, need_more, error };

  // Where an argument lies: `offset` bytes from the start of the command in the input,
  // or from the start of scratch_ for inline words rebuilt there.
  struct argument_span {
    std::size_t offset;
    std::size_t length;
    bool in_scratch;
  };

  enum class line_search { found, partial, too_long };

  step parse_multibulk(const char* command, std::size_t size);
  step parse_inline(const char* command, std::size_t size);
  bool split_inline(const char* line, std::size_t length);
  line_search find_line_end(const char* command, std::size_t size, char terminator,
                            std::size_t& end);
  step fail(std::string message);
  void start_command(char first_byte);

  mode mode_ = mode::idle;
  bool failed_ = false;
  std::string error_;

  std::vector<std::string_view> args_;
  std::vector<argument_span> spans_;
  std::string scratch_;
  std::size_t consumed_ = 0;

  // Offsets below count from the first byte of the command being parsed.
  std::size_t cursor_ = 0;          // first byte not yet parsed
  std::size_t line_searched_ = 0;   // bytes from cursor_ already searched for a terminator
  std::size_t available_ = 0;       // bytes of the command the last call could see
  std::int64_t pending_args_ = 0;   // multibulk arguments still to come
  std::int64_t bulk_length_ = -1;   // length of the bulk whose payload starts at cursor_

  std::uint64_t bytes_examined_ = 0;
};

}  // namespace stairkv::protocol
