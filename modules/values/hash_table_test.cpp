#include "modules/values/hash_table.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "modules/values/compact_hash.hpp"

using namespace stairkv::values;

TEST(HashTable, SetFindEraseAndByteCounts) {
  hash_table table;
  auto empty = table.bytes();
  for (int i = 0; i < 1000; ++i)
    EXPECT_TRUE(table.set("field:" + std::to_string(i), std::string(20, 'v')));
  EXPECT_EQ(table.size(), 1000u);
  auto full = table.bytes();
  EXPECT_GT(full, empty + 1000 * 40); // every block, at least its bytes
  EXPECT_FALSE(table.set("field:7", "short"));
  std::string_view value;
  ASSERT_TRUE(table.find("field:7", value));
  EXPECT_EQ(value, "short");
  EXPECT_FALSE(table.set("field:8", std::string(500, 'w'))); // a bigger block
  ASSERT_TRUE(table.find("field:8", value));
  EXPECT_EQ(value.size(), 500u);
  EXPECT_GT(table.bytes(), full);
  for (int i = 0; i < 1000; ++i)
    EXPECT_TRUE(table.erase("field:" + std::to_string(i)));
  EXPECT_FALSE(table.erase("field:1"));
  EXPECT_EQ(table.size(), 0u);
}

TEST(HashTable, CompactFormRoundTrips) {
  std::vector<field_value> pairs;
  std::string bytes;
  std::vector<std::string> fields; // the edit keeps views of them
  for (int i = 0; i < 300; ++i)
    fields.push_back("f" + std::to_string(i));
  compact_hash_edit edit{empty_compact_hash(), pairs};
  for (const auto& field : fields)
    edit.set(field, "v");
  edit.write(bytes);
  std::unique_ptr<hash_table> table{hash_table::from_compact(bytes)};
  EXPECT_EQ(table->size(), 300u);
  std::string back;
  table->write_compact(back);
  EXPECT_TRUE(compact_hash::valid(back));
  EXPECT_EQ(compact_hash{back}.size(), 300u);
  std::string_view value;
  EXPECT_TRUE(compact_hash{back}.find("f299", value));
}
