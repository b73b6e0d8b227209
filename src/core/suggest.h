// "Did you mean ...?" for names a user typed: branch names, params.json keys.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace m4h {

// "; did you mean 'A', 'B' or 'C'?" naming up to five of `candidates` close to `name`: a few
// letters off (an edit per four letters, at least one; case ignored) first, then those that
// contain `name` (three letters or more), each group in the candidates' order, with "(or N more)"
// when there are more. "" when none is close.
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace m4h
