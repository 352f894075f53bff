#include "modules/persistence/framing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace stairkv::persistence;

namespace {

std::string frames_of(const std::vector<std::string>& payloads) {
  std::string out;
  for (const auto& p : payloads)
    append_frame(out, p);
  return out;
}

// Reads every frame; returns the payloads and the final status.
frame_status read_all(std::string_view bytes, std::vector<std::string>& out,
                      std::size_t* good_end = nullptr) {
  frame_reader reader{bytes};
  std::string_view payload;
  frame_status s;
  while ((s = reader.next(payload)) == frame_status::ok)
    out.emplace_back(payload);
  if (good_end != nullptr)
    *good_end = reader.position();
  return s;
}

} // namespace

TEST(Framing, FramesRoundTripInOrderAndEndCleanly) {
  std::vector<std::string> in{"a", "", std::string(300, 'x'), std::string{"\0\r\n", 3},
                              std::string(70000, 'y')};
  std::vector<std::string> out;
  EXPECT_EQ(read_all(frames_of(in), out), frame_status::end);
  EXPECT_EQ(out, in);
  EXPECT_EQ(read_all("", out), frame_status::end);
}

TEST(Framing, EveryCutShortFileIsTornAtTheLastGoodFrame) {
  std::vector<std::string> in{"first", std::string(200, 'z'), "third"};
  auto bytes = frames_of(in);
  auto first_end = frames_of({in[0]}).size();
  auto second_end = frames_of({in[0], in[1]}).size();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<std::string> out;
    std::size_t good_end = 0;
    auto s = read_all(std::string_view{bytes}.substr(0, cut), out, &good_end);
    if (cut == 0 || cut == first_end || cut == second_end) {
      EXPECT_EQ(s, frame_status::end) << cut;
    } else {
      EXPECT_EQ(s, frame_status::torn) << cut;
    }
    auto expected = cut < first_end ? 0u : cut < second_end ? 1u : 2u;
    EXPECT_EQ(out.size(), expected) << cut;
    EXPECT_EQ(good_end, expected == 0 ? 0 : expected == 1 ? first_end : second_end);
  }
}

TEST(Framing, DamageInTheMiddleIsCorruptAndAtTheEndIsTorn) {
  auto bytes = frames_of({"one", "two", "three"});
  auto middle = bytes;
  middle[frames_of({"one"}).size() + 2] ^= 0x01; // a byte of "two"
  std::vector<std::string> out;
  std::size_t good_end = 0;
  EXPECT_EQ(read_all(middle, out, &good_end), frame_status::corrupt);
  EXPECT_EQ(out, (std::vector<std::string>{"one"}));
  EXPECT_EQ(good_end, frames_of({"one"}).size());
  auto last = bytes;
  last[last.size() - 1] ^= 0x80; // the last frame's checksum
  out.clear();
  EXPECT_EQ(read_all(last, out), frame_status::torn);
  EXPECT_EQ(out, (std::vector<std::string>{"one", "two"}));
}

TEST(Framing, ImpossibleLengthsAreCorrupt) {
  std::vector<std::string> out;
  // A varint longer than ten bytes.
  EXPECT_EQ(read_all(std::string(11, '\xff'), out), frame_status::corrupt);
  // A declared length past the largest payload: 2^31.
  std::string huge{"\x80\x80\x80\x80\x08", 5};
  EXPECT_EQ(read_all(huge + std::string(16, 'x'), out), frame_status::corrupt);
  EXPECT_TRUE(out.empty());
}
