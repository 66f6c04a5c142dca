// The cool-down after a timeout (src/backend/cooldown.h), on a fake clock.
#include "backend/cooldown.h"

#include <gtest/gtest.h>

namespace ks {
namespace {

constexpr int64_t kSecond = 1000000000;

TEST(Cooldown, InactiveUntilATimeout) {
  Cooldown c(30 * kSecond);
  EXPECT_FALSE(c.Active(0));
  EXPECT_FALSE(c.Active(1000 * kSecond));
}

TEST(Cooldown, FailsFastForOnePeriodThenTriesAgain) {
  Cooldown c(30 * kSecond);
  c.Trip(100 * kSecond);
  EXPECT_TRUE(c.Active(100 * kSecond));
  EXPECT_TRUE(c.Active(129 * kSecond));
  EXPECT_FALSE(c.Active(130 * kSecond));
  // Another timeout on the next try starts a new period.
  c.Trip(160 * kSecond);
  EXPECT_TRUE(c.Active(170 * kSecond));
  EXPECT_FALSE(c.Active(190 * kSecond));
}

}  // namespace
}  // namespace ks
