#include "format/staging_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

void touch(const fs::path& p, const std::string& content = "x") {
  std::ofstream(p) << content;
}

TEST(StagingDirTest, CreatesMissingDirectoriesWithMode0700) {
  testing::TempDir tmp;
  const fs::path dir = tmp / "a" / "b" / "staging";
  const mode_t old = ::umask(0);
  {
    StagingDir staging(dir);
    EXPECT_EQ(staging.path(), dir);
  }
  ::umask(old);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(tmp / "a" / "b"), 0700u);
  EXPECT_EQ(mode_of(tmp / "a"), 0700u);
}

TEST(StagingDirTest, TightensALooserExistingDirectory) {
  testing::TempDir tmp;
  const fs::path dir = tmp / "open";
  fs::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  StagingDir staging(dir);
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST(StagingDirTest, RemovesLeftoverStagedFilesOnly) {
  testing::TempDir tmp;
  const fs::path dir = tmp / "staging";
  fs::create_directory(dir);
  touch(dir / "run-1.csv.gz");
  touch(dir / "run-2.csv.gz");
  touch(dir / "notes.txt");
  fs::create_directory(dir / "nested.csv.gz");
  touch(tmp / "outside.csv.gz", "keep me");
  fs::create_symlink(tmp / "outside.csv.gz", dir / "link.csv.gz");

  StagingDir staging(dir);

  EXPECT_FALSE(fs::exists(dir / "run-1.csv.gz"));
  EXPECT_FALSE(fs::exists(dir / "run-2.csv.gz"));
  EXPECT_EQ(staging.leftovers_removed(), 2);
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  EXPECT_TRUE(fs::is_directory(dir / "nested.csv.gz"));
  EXPECT_TRUE(fs::is_symlink(dir / "link.csv.gz"));
  std::ifstream in(tmp / "outside.csv.gz");
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

TEST(StagingDirTest, FileForNamesTheRunsFileInsideTheDirectory) {
  testing::TempDir tmp;
  StagingDir staging(tmp / "s");
  EXPECT_EQ(staging.file_for("0b6f2c1e-7d1a-4c39-9a57-2f0f4b8f9e10"),
            tmp / "s" / "0b6f2c1e-7d1a-4c39-9a57-2f0f4b8f9e10.csv.gz");
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "../escape", "a/b", std::string("a\0b", 3)}) {
    try {
      staging.file_for(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    }
  }
}

TEST(StagingDirTest, SecondUserOfTheSameDirectoryIsRefusedUntilTheFirstIsGone) {
  testing::TempDir tmp;
  const fs::path dir = tmp / "shared";
  {
    StagingDir first(dir);
    touch(first.file_for("in-flight"));
    try {
      StagingDir second(dir);
      FAIL() << "two owners of one staging directory";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo);
      EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos);
    }
    EXPECT_TRUE(fs::exists(dir / "in-flight.csv.gz"));  // the refused one deleted nothing
  }
  StagingDir third(dir);
  EXPECT_FALSE(fs::exists(dir / "in-flight.csv.gz"));
}

TEST(StagingDirTest, RegularFileInTheWayIsAnIoErrorNamingIt) {
  testing::TempDir tmp;
  const fs::path dir = tmp / "file";
  touch(dir);
  try {
    StagingDir staging(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos);
  }
}

TEST(StagingDirTest, SymlinkIsRefused) {
  testing::TempDir tmp;
  fs::create_directory(tmp / "real");
  fs::create_directory_symlink(tmp / "real", tmp / "link");
  EXPECT_THROW(StagingDir(tmp / "link"), Error);
}

TEST(StagingDirTest, DirectoryOwnedBySomeoneElseIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  testing::TempDir tmp;
  const fs::path dir = tmp / "theirs";
  fs::create_directory(dir);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  touch(dir / "their.csv.gz");
  try {
    StagingDir staging(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("owned by uid 65534"), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(dir / "their.csv.gz"));
}

TEST(StagingDirTest, UncreatableDirectoryIsAnIoError) {
  testing::TempDir tmp;
  touch(tmp / "blocker");
  try {
    StagingDir staging(tmp / "blocker" / "sub");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("blocker"), std::string::npos);
  }
}

}  // namespace
}  // namespace user_export
