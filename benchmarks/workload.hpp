#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

// What the load generator asks: which command, on which key, encoded how. Every choice
// comes from a per-client seeded generator, so a run is reproducible from its seed, and
// requests are appended to the caller's buffer from precomputed templates, so building
// one allocates nothing once the buffer has grown.
namespace stairkv::bench {

// Keys are "key:" and twelve zero-padded decimal digits: 16 bytes, as in the reference
// run this tool reproduces, for every index below max_keys.
inline constexpr std::string_view key_prefix = "key:";
inline constexpr std::size_t key_digits = 12;
inline constexpr std::size_t key_size = 16;
inline constexpr std::uint64_t max_keys = 1'000'000'000'000;

// Writes `index` (below max_keys) as key_digits zero-padded digits at `out`.
void write_key_digits(char* out, std::uint64_t index);

// "key:000000000042" for 42.
std::string key_name(std::uint64_t index);

// xoshiro256** (Blackman and Vigna), seeded through splitmix64: fast, small, and good
// enough that uniform key choice is uniform. Not for anything that needs secrecy.
class random_generator {
 public:
  explicit random_generator(std::uint64_t seed);

  std::uint64_t next();

  // Uniform in [0, bound), bound > 0, without modulo bias (Lemire's multiply-and-
  // reject method: one multiplication, a division only on the rare rejection path).
  std::uint64_t below(std::uint64_t bound);

 private:
  std::uint64_t state_[4];
};

// The seed of client `client` in a run seeded with `run_seed`: distinct clients get
// unrelated streams.
std::uint64_t client_seed(std::uint64_t run_seed, std::uint64_t client);

enum class command : std::uint8_t { set = 0, get = 1 };
inline constexpr std::size_t command_kinds = 2;
const char* command_name(command c);

// How many SETs per how many GETs, as given by --ratio=SET:GET.
struct command_ratio {
  std::uint64_t set = 1;
  std::uint64_t get = 1;
};

// Parses "SET:GET" counts such as "1:1", "1:10" or "0:1" (each at most 1,000,000, not
// both zero).
bool parse_ratio(std::string_view text, command_ratio& out);
std::string format_ratio(const command_ratio& ratio);

// The deterministic value every SET writes: `size` bytes of a fixed printable pattern.
std::string make_value(std::size_t size);

// The requests of one client: which command and which key, drawn from its own
// generator. Keys are uniform over [0, keys); a command is a SET with probability
// set / (set + get).
class request_generator {
 public:
  struct request {
    command cmd;
    std::uint64_t key;
  };

  request_generator(std::uint64_t seed, std::uint64_t keys, command_ratio ratio);

  request next() {
    const command cmd = always_ != -1 ? static_cast<command>(always_)
                        : random_.below(ratio_total_) < ratio_.set ? command::set
                                                                   : command::get;
    return {cmd, random_.below(keys_)};
  }

 private:
  random_generator random_;
  std::uint64_t keys_;
  command_ratio ratio_;
  std::uint64_t ratio_total_;
  int always_ = -1;  // a ratio with a zero side needs no draw per command
};

// Encodes SET and GET requests as RESP multibulk by copying a template built once with
// the project's protocol writer and patching the key's digits in place.
class request_encoder {
 public:
  explicit request_encoder(std::size_t value_size);

  void append(std::string& out, command cmd, std::uint64_t key) const {
    const encoded& e = templates_[static_cast<std::size_t>(cmd)];
    const std::size_t start = out.size();
    out.append(e.bytes);
    write_key_digits(&out[start + e.digits_offset], key);
  }

  // Bytes one request of each kind takes.
  std::size_t size(command cmd) const {
    return templates_[static_cast<std::size_t>(cmd)].bytes.size();
  }

 private:
  struct encoded {
    std::string bytes;
    std::size_t digits_offset;  // where the key's digits start in `bytes`
  };
  encoded templates_[command_kinds];
};

// Appends any command, each argument a bulk string (what clients send).
void append_command(std::string& out, std::initializer_list<std::string_view> args);

// SET key value PXAT deadline_ms: the expiry probe's request.
void append_set_pxat(std::string& out, std::string_view key, std::string_view value,
                     std::int64_t deadline_ms);

}  // namespace stairkv::bench
