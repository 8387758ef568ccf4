#pragma once

#include <string>
#include <vector>

#include "tests/support/test_db.hpp"

namespace facilityd::test {

/// Replays the recorded scans of every facility in commit order (scan id)
/// through the rules, starting from empty facilities, and reports each
/// disagreement with the recorded outcomes and with the open visits the
/// database ends with. None means the history is what one sequential
/// server would have produced. Assumes roles and suspensions did not change
/// during the history.
std::vector<std::string> replay_history(test_db& db);

}  // namespace facilityd::test
