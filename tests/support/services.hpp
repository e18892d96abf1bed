// Whether the test services (PostgreSQL, Kafka, S3 test server) must be there, and what a test
// does when one is missing: it is skipped, or fails when scripts/run-tests.sh has set
// UE_REQUIRE_SERVICES=1 (docs/POSTGRES.md, docs/KAFKA.md, docs/S3.md).
#pragma once

#include <gtest/gtest.h>

namespace user_export::testing {

/// Whether UE_REQUIRE_SERVICES=1: a missing service is then a failure, not a skip.
bool services_required();

}  // namespace user_export::testing

/// In a test body or SetUp(): unless `available`, skips the running test, or fails it when
/// services_required(). `missing` says what is not set up and how to start it.
#define UE_SKIP_UNLESS_SERVICE(available, missing)           \
  do {                                                       \
    if (!(available)) {                                      \
      if (::user_export::testing::services_required()) {     \
        FAIL() << (missing) << " but UE_REQUIRE_SERVICES=1"; \
      }                                                      \
      GTEST_SKIP() << (missing);                             \
    }                                                        \
  } while (false)
