#pragma once

#include <string_view>

namespace stairkv::commands {

// Matches `text` against a Redis glob pattern: `*`, `?`, `[abc]`, `[^a-z]`, and `\`
// to escape. Used by CONFIG GET and KEYS-style patterns.
bool glob_match(std::string_view pattern, std::string_view text,
                bool ignore_case = false);

} // namespace stairkv::commands
