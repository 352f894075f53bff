#pragma once

// How records sit in a persistence file (the append-only file and snapshots): each
// is a frame of
//
//   varint payload length | payload | 4-byte checksum (low 32 bits of XXH3-64 of
//   the payload, little-endian)
//
// so a reader can tell a clean end, a record cut short by a crash (a torn tail,
// which is dropped: the writes it held were never acknowledged under
// appendfsync always) and damage in the middle of a file (which must not be
// loaded past silently). Payloads are serialized Protobuf messages (records.proto).
// Pure code: no files, no actors.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stairkv::persistence {

// The largest payload a frame may declare: a value is at most 512 MB, and a
// record carries one key and one value.
inline constexpr std::size_t max_payload = std::size_t{1} << 30;

// Appends `n` as a varint (7 bits a byte, low first): frame lengths, and the
// numbers of Protobuf's wire format.
void append_varint(std::string& out, std::uint64_t n);

// Appends one frame holding `payload` to `out`.
void append_frame(std::string& out, std::string_view payload);

enum class frame_status {
  ok,        // `payload` holds the next record
  end,       // no bytes left: a clean end
  torn,      // the bytes left are the beginning of a frame, cut short (or a
             // last frame whose checksum fails): a crash in mid-write
  corrupt,   // a frame that is whole but damaged, with more data after it, or a
             // length no writer produces
};

const char* to_string(frame_status s);

// Reads frames from a buffer one by one. `position()` is always the end of the
// last good frame: where a torn file is cut.
class frame_reader {
public:
  explicit frame_reader(std::string_view bytes) noexcept : bytes_(bytes) {
  }

  // The next frame's payload (a view into the buffer), or why there is none.
  frame_status next(std::string_view& payload);

  std::size_t position() const noexcept {
    return position_;
  }

  // Goes on from `position` (the end of a frame read before).
  void skip_to(std::size_t position) noexcept {
    position_ = position;
  }

private:
  std::string_view bytes_;
  std::size_t position_ = 0;
};

} // namespace stairkv::persistence
