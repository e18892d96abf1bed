// The stream part of the Repository contract: stream_rows() gives the claimed users' fields
// byte-exact, in id order.
#include "support/contract/repository_contract.hpp"
#include "support/contract/row_collector.hpp"

namespace user_export::testing {

int stream_contract_anchor() {
  return 0;
}

// ---- stream ----

TEST_P(RepositoryContract, StreamRowsGivesRequestedFieldsInIdOrderWithNulls) {
  const std::string group = add_group(domain_);
  const auto with_profile = add_user(group);
  const auto without_profile = add_user(group);
  db_->exec("UPDATE users SET email = NULL WHERE id = " + std::to_string(without_profile));
  db_->exec(
      "INSERT INTO profiles (user_id, display_name, gender, date_of_birth, city, bio, "
      "interests) VALUES (" +
      std::to_string(with_profile) + ", 'Ana', NULL, '1990-12-31', 'Lagos', '', 'chess')");
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));

  RowCollector rows;
  repo_->stream_rows(run.run_id,
                     {"city", "id", "email", "gender", "bio", "date_of_birth", "created_at",
                      "group_id", "display_name"},
                     rows);
  ASSERT_EQ(rows.rows.size(), 2u);
  const auto& a = rows.rows[0];
  EXPECT_EQ(a[0], "Lagos");
  EXPECT_EQ(a[1], std::to_string(with_profile));
  EXPECT_EQ(a[2],
            *db_->query_one("SELECT email FROM users WHERE id = " + std::to_string(with_profile)));
  EXPECT_EQ(a[3], std::nullopt);
  EXPECT_EQ(a[4], "");  // empty text is not NULL
  EXPECT_EQ(a[5], "1990-12-31");
  EXPECT_EQ(a[6], "2025-03-04 05:06:07");
  EXPECT_EQ(a[7], group);
  EXPECT_EQ(a[8], "Ana");
  const auto& b = rows.rows[1];
  EXPECT_EQ(b[1], std::to_string(without_profile));
  EXPECT_EQ(b[2], std::nullopt);
  for (int i : {0, 3, 4, 5, 8}) EXPECT_EQ(b[static_cast<std::size_t>(i)], std::nullopt) << i;
  EXPECT_EQ(b[6], "2025-03-04 05:06:07");
}

TEST_P(RepositoryContract, StreamRowsReturnsHostileValuesByteExact) {
  const std::string group = add_group(domain_);
  const auto id = add_user(group);
  const std::vector<std::string> hostile = {
      "Smith, John",
      "She said \"hi\"",
      "line one\nline two",
      "windows\r\nline",
      "tab\there",
      "Zoë from São Paulo, Kraków and 東京 🚀",
      "=HYPERLINK(\"http://example.com\")",
      "it's",
  };
  db_->exec(
      "INSERT INTO profiles (user_id, display_name, gender, date_of_birth, city, bio, "
      "interests) VALUES (" +
      std::to_string(id) + ", " + quote(hostile[0]) + ", " + quote(hostile[1]) + ", NULL, " +
      quote(hostile[5]) + ", " + quote(hostile[2]) + ", " + quote(hostile[3]) + ")");
  db_->exec("UPDATE users SET username = " + quote(hostile[4]) + ", email = " + quote(hostile[6]) +
            ", phone = " + quote(hostile[7]) + " WHERE id = " + std::to_string(id));
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));

  RowCollector rows;
  repo_->stream_rows(
      run.run_id,
      {"display_name", "gender", "bio", "interests", "username", "city", "email", "phone"}, rows);
  ASSERT_EQ(rows.rows.size(), 1u);
  const std::vector<std::optional<std::string>> expected = {hostile[0], hostile[1], hostile[2],
                                                            hostile[3], hostile[4], hostile[5],
                                                            hostile[6], hostile[7]};
  EXPECT_EQ(rows.rows[0], expected);
}

TEST_P(RepositoryContract, StreamRowsRejectsAnUnknownFieldNamingItAndTheValidOnes) {
  const std::string group = add_group(domain_);
  add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  RowCollector rows;
  try {
    repo_->stream_rows(run.run_id, {"ref_id", "password_hash"}, rows);
    FAIL() << "an unknown field must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConfig);
    const std::string what = e.what();
    EXPECT_NE(what.find("password_hash"), std::string::npos) << what;
    for (const auto& field : known_source_fields()) {
      EXPECT_NE(what.find(field), std::string::npos) << field << " missing from: " << what;
    }
  }
  EXPECT_TRUE(rows.rows.empty());
}

TEST_P(RepositoryContract, HandlerExceptionAbortsTheStreamAndTheRepositoryStaysUsable) {
  const std::string group = add_group(domain_);
  for (int i = 0; i < 5; ++i) add_user(group);
  const ExportRun run = repo_->claim(claim_request(group, slot1_, "a"));
  struct Failing : RowHandler {
    int seen = 0;
    void on_row(RowView) override {
      if (++seen == 2) throw std::runtime_error("disk full");
    }
  } failing;
  EXPECT_THROW(repo_->stream_rows(run.run_id, {"ref_id"}, failing), std::runtime_error);
  EXPECT_EQ(failing.seen, 2);
  EXPECT_EQ(streamed_ids(run.run_id).size(), 5u);
  commit_run(run.run_id, "a", {});
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE sent_to_matching_service"), 5);
}

}  // namespace user_export::testing
