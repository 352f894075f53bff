// Groups in the append-only file: a loader applies a group's changes only when
// every share of it is in the file, in file order; the writer starts a rewrite
// only between groups, so a rewritten file holds each group whole too.

#include "modules/persistence/aof.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "modules/persistence/framing.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/testing/actor_system_config.hpp"

using namespace stairkv::persistence;

namespace {

std::string test_path(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string{base != nullptr ? base : "/tmp"} + "/" + name + "-"
         + std::to_string(::getpid());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

// What loading `path` applies, one line per change: "put key=value", "del key".
std::vector<std::string> loaded(const std::string& path, load_result* result = nullptr) {
  std::vector<std::string> out;
  auto r = load_aof(path, [&](const AofRecord& rec) {
    if (rec.has_put())
      out.push_back("put " + rec.put().key() + "=" + rec.put().value());
    else if (rec.change_case() == AofRecord::kDel)
      out.push_back("del " + rec.del());
    else
      out.push_back("other");
  });
  if (result != nullptr)
    *result = r;
  return out;
}

// One shard's share of group `group` with `weight`, holding puts of `keys`.
std::string share(std::uint64_t group, std::uint64_t weight,
                  const std::vector<std::string>& keys) {
  journal j;
  for (const auto& k : keys)
    j.put(k, "g", 0);
  j.enclose(0, group, weight);
  return j.take();
}

std::string put(const std::string& key, const std::string& value) {
  journal j;
  j.put(key, value, 0);
  return j.take();
}

} // namespace

TEST(AofGroups, AGroupLoadsWholeInFileOrderAndAPartOfOneNotAtAll) {
  auto path = test_path("groups.aof");
  auto half = whole_group / 2;
  std::string file = file_header(1);
  file += put("a", "1");
  file += share(11, half, {"x"});           // group 11, first half
  file += put("x", "later");                // a later plan on x's shard
  file += share(22, half, {"lost1", "lost2"}); // group 22: its other half never came
  file += share(11, whole_group - half, {"z"});
  {
    journal j;
    j.del("a");
    file += j.take();
  }
  write_file(path, file);
  load_result result;
  auto changes = loaded(path, &result);
  EXPECT_EQ(result.outcome, load_outcome::complete) << result.message;
  EXPECT_EQ(result.partial_shares, 1u);
  std::vector<std::string> expected{"put a=1", "put x=g", "put x=later", "put z=g", "del a"};
  EXPECT_EQ(changes, expected);
  ::unlink(path.c_str());
}

TEST(AofGroups, ATornTailInsideAGroupDropsTheWholeGroup) {
  auto path = test_path("torn-group.aof");
  std::string file = file_header(1) + put("a", "1") + share(5, whole_group / 2, {"p"});
  auto second = share(5, whole_group - whole_group / 2, {"q"});
  file += second.substr(0, second.size() - 3); // the crash cut the last share short
  write_file(path, file);
  load_result result;
  auto changes = loaded(path, &result);
  EXPECT_EQ(result.outcome, load_outcome::truncated);
  EXPECT_EQ(changes, std::vector<std::string>{"put a=1"});
  ::unlink(path.c_str());
}

TEST(AofGroups, FilesOfFormatVersionOneStillLoad) {
  auto path = test_path("v1.aof");
  FileHeader header;
  header.set_magic(std::string{file_magic});
  header.set_format_version(1);
  std::string file;
  append_frame(file, header.SerializeAsString());
  file += put("old", "v");
  write_file(path, file);
  EXPECT_EQ(loaded(path), std::vector<std::string>{"put old=v"});
  ::unlink(path.c_str());
}

namespace {

class AofWriter : public ::testing::Test {
protected:
  AofWriter()
    : system_(stairkv::testing::actor_system_config()), self_(system_),
      path_(test_path("writer.aof")) {
    ::unlink(path_.c_str());
    aof_config config;
    config.path = path_;
    config.policy = fsync_policy::always;
    config.figures = std::make_shared<status>();
    writer_ = spawn_aof_writer(system_, config);
  }

  ~AofWriter() override {
    caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
    self_->wait_for(writer_);
    ::unlink(path_.c_str());
  }

  void append(const std::string& frames) {
    self_->request(writer_, caf::infinite, append_sync_atom::value, frames)
      .receive([](bool ok) { EXPECT_TRUE(ok); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
  }

  // Ends the rewrite with a new file that holds only a header: what the
  // writer copied since the rewrite began follows it.
  void end_rewrite() {
    auto temp = path_ + ".rewrite";
    write_file(temp, file_header(2));
    self_->request(writer_, caf::infinite, rewrite_end_atom::value, temp, true)
      .receive([](bool ok) { EXPECT_TRUE(ok); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
  }

  caf::actor_system system_;
  caf::scoped_actor self_;
  std::string path_;
  caf::actor writer_;
};

} // namespace

TEST_F(AofWriter, ARewriteBeginsOnlyOnceTheGroupsOpenThenAreWhole) {
  auto half = whole_group / 2;
  append(share(9, half, {"first"}));
  // Asked while group 9 is open: the rewrite waits for its other share.
  self_->send(writer_, rewrite_begin_atom::value);
  append(put("meanwhile", "v"));
  append(share(9, whole_group - half, {"second"}));
  bool began = false;
  self_->receive([&](bool ok) { began = ok; });
  EXPECT_TRUE(began);
  append(put("after", "v"));
  end_rewrite();
  // The new file: its (empty) base, then only what came after the begin. Had
  // the copy started at once, "meanwhile" and the second share would be here,
  // and the second share would load as half of a group.
  load_result result;
  EXPECT_EQ(loaded(path_, &result), std::vector<std::string>{"put after=v"});
  EXPECT_EQ(result.partial_shares, 0u);
}

TEST_F(AofWriter, AShareThatNeverComesHoldsARewriteBackOnlyForASecond) {
  append(share(4, whole_group / 2, {"orphan"}));
  auto asked = std::chrono::steady_clock::now();
  self_->request(writer_, caf::infinite, rewrite_begin_atom::value)
    .receive([](bool ok) { EXPECT_TRUE(ok); },
             [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
  auto waited = std::chrono::steady_clock::now() - asked;
  EXPECT_GE(waited, std::chrono::milliseconds{900});
  EXPECT_LT(waited, std::chrono::seconds{10});
  end_rewrite();
}
