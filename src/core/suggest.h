// "Did you mean ...?" for names a user typed: branch names, params.json keys.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace m4h {

// "; did you mean 'A', 'B' or 'C'?" naming up to five of `candidates` close to `name`: those a
// few letters off (an edit per four letters, at least one; an edit is an inserted, deleted or
// changed letter, or two neighbours swapped; case ignored), nearest first, then
// those that contain `name` (three letters or more); ties in the candidates' order, and "(or N
// more)" when there are more. "" when none is close.
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace m4h
