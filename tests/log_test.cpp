// The log's limiter: how many lines of one kind get through, and the count
// of those held back.
#include <doctest/doctest.h>

#include "util/log.hpp"

using namespace facilityd;
using namespace std::chrono_literals;

TEST_CASE("a log limiter lets a burst through, then counts what it holds") {
  log_limiter limit{3, 1s};
  auto t0 = log_limiter::clock::now();
  uint64_t held = 99;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(limit.allow(t0 + i * 10ms, held));
    CHECK(held == 0);
  }
  CHECK_FALSE(limit.allow(t0 + 500ms, held));
  CHECK_FALSE(limit.allow(t0 + 999ms, held));

  // The next period lets lines through again; the first says how many of
  // the last period's were held back.
  REQUIRE(limit.allow(t0 + 1s, held));
  CHECK(held == 2);
  REQUIRE(limit.allow(t0 + 1100ms, held));
  CHECK(held == 0);
}

TEST_CASE("a log limiter holding nothing back reports nothing held") {
  log_limiter limit{2, 1s};
  auto t0 = log_limiter::clock::now();
  uint64_t held = 0;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(limit.allow(t0 + i * 1s, held));
    CHECK(held == 0);
  }
}
