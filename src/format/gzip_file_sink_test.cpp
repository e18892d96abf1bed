#include "format/gzip_file_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "support/temp_dir.hpp"

namespace user_export {
namespace {

namespace fs = std::filesystem;

/// Runs `command` through the shell; returns its exit status and standard output.
std::pair<int, std::string> run(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string gunzip(const fs::path& file) {
  auto [status, out] = run("gzip -dc '" + file.string() + "'");
  EXPECT_EQ(status, 0) << "gzip -dc failed for " << file;
  return out;
}

bool gzip_accepts(const fs::path& file) {
  return run("gzip -t '" + file.string() + "' 2>&1").first == 0;
}

/// CSV-like text: compressible, but not trivially.
std::string csv_like(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  const char* cities[] = {"Pune", "Zürich", "Mumbai", "東京", "São Paulo", "Berlin"};
  std::string s;
  s.reserve(size + 200);
  while (s.size() < size) {
    s += std::to_string(rng()) + "-" + std::to_string(rng() % 10000) + ",user" +
         std::to_string(rng() % 100000) + ",user" + std::to_string(rng() % 1000) +
         "@example.com,+91" + std::to_string(rng() % 1000000000) + "," +
         cities[rng() % std::size(cities)] + ",\"Likes \"\"hiking\"\", music\"\n";
  }
  s.resize(size);
  return s;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

/// Writes `data` in chunks of varying size, from 1 byte to 1 MiB.
void write_in_chunks(GzipFileSink& sink, const std::string& data) {
  std::mt19937 rng(11);
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t n = std::min(data.size() - pos, std::size_t{1} << (rng() % 21));
    sink.write(std::string_view(data).substr(pos, n));
    pos += n;
  }
}

class GzipLevelTest : public ::testing::TestWithParam<int> {};

TEST_P(GzipLevelTest, MultiMegabyteInputRoundTripsThroughGzip) {
  testing::TempDir dir;
  const fs::path file = dir / "big.csv.gz";
  const std::string input = csv_like(9 * 1024 * 1024, 1) + random_bytes(300 * 1024, 2);
  FileDigest d;
  {
    GzipFileSink sink(file, GetParam());
    write_in_chunks(sink, input);
    EXPECT_EQ(sink.uncompressed_bytes(), static_cast<std::int64_t>(input.size()));
    d = sink.finish();
  }
  ASSERT_TRUE(fs::exists(file));
  EXPECT_TRUE(gzip_accepts(file));
  const std::string output = gunzip(file);
  ASSERT_EQ(output.size(), input.size());
  EXPECT_TRUE(output == input);
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(fs::file_size(file)));
  if (GetParam() > 0) {
    EXPECT_LT(d.bytes, static_cast<std::int64_t>(input.size() / 2));
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, GzipLevelTest, ::testing::Values(0, 1, 2, 3));

TEST(GzipFileSinkTest, SizeAndSha256MatchTheFileOnDisk) {
  testing::TempDir dir;
  const fs::path file = dir / "digest.csv.gz";
  GzipFileSink sink(file, 1);
  sink.write(csv_like(3 * 1024 * 1024, 5));
  const FileDigest d = sink.finish();
  auto [status, out] = run("sha256sum '" + file.string() + "'");
  ASSERT_EQ(status, 0);
  EXPECT_EQ(d.sha256, out.substr(0, 64));
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(fs::file_size(file)));
  EXPECT_EQ(d.sha256.size(), 64u);
}

TEST(GzipFileSinkTest, EmptyInputIsAValidGzipFile) {
  testing::TempDir dir;
  const fs::path file = dir / "empty.csv.gz";
  GzipFileSink sink(file, 1);
  const FileDigest d = sink.finish();
  EXPECT_TRUE(gzip_accepts(file));
  EXPECT_EQ(gunzip(file), "");
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(fs::file_size(file)));
  // SHA-256 of the file computed independently.
  EXPECT_EQ(d.sha256, run("sha256sum '" + file.string() + "'").second.substr(0, 64));
}

TEST(GzipFileSinkTest, FileIsCreatedWithMode0600EvenWithAPermissiveUmask) {
  testing::TempDir dir;
  const fs::path file = dir / "mode.csv.gz";
  const mode_t old = ::umask(0);
  {
    GzipFileSink sink(file, 1);
    sink.write("a,b\n");
    sink.finish();
  }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(GzipFileSinkTest, UnfinishedSinkRemovesItsFile) {
  testing::TempDir dir;
  const fs::path file = dir / "partial.csv.gz";
  {
    GzipFileSink sink(file, 1);
    sink.write(random_bytes(2 * 1024 * 1024, 9));  // enough that blocks reached the disk
    ASSERT_TRUE(fs::exists(file));
    EXPECT_GT(fs::file_size(file), 0u);
  }
  EXPECT_FALSE(fs::exists(file));
}

TEST(GzipFileSinkTest, ExistingFileIsNeitherOverwrittenNorRemoved) {
  testing::TempDir dir;
  const fs::path file = dir / "taken.csv.gz";
  std::ofstream(file) << "precious";
  try {
    GzipFileSink sink(file, 1);
    FAIL() << "opened an existing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
  }
  std::ifstream in(file);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "precious");
}

TEST(GzipFileSinkTest, MissingDirectoryIsAnIoErrorNamingThePath) {
  testing::TempDir dir;
  const fs::path file = dir / "no-such-dir" / "x.csv.gz";
  try {
    GzipFileSink sink(file, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
  }
}

TEST(GzipFileSinkTest, LevelOutOfRangeIsAConfigErrorAndCreatesNothing) {
  testing::TempDir dir;
  for (int level : {-1, 4, 9}) {
    const fs::path file = dir / ("level" + std::to_string(level) + ".csv.gz");
    try {
      GzipFileSink sink(file, level);
      FAIL() << level;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
    }
    EXPECT_FALSE(fs::exists(file));
  }
}

TEST(GzipFileSinkTest, WriteAfterFinishFailsAndFinishIsRepeatable) {
  testing::TempDir dir;
  const fs::path file = dir / "done.csv.gz";
  GzipFileSink sink(file, 2);
  sink.write("hello\n");
  const FileDigest first = sink.finish();
  const FileDigest second = sink.finish();
  EXPECT_EQ(first.sha256, second.sha256);
  EXPECT_EQ(first.bytes, second.bytes);
  try {
    sink.write("more");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
  EXPECT_EQ(gunzip(file), "hello\n");
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(GzipFileSinkTest, HeapDoesNotGrowWithInput) {
  testing::TempDir dir;
  GzipFileSink sink(dir / "steady.csv.gz", 3);
  const std::string chunk = csv_like(1024 * 1024, 4);
  sink.write(chunk);
  const auto before = ::mallinfo2().uordblks;
  for (int i = 0; i < 48; ++i) sink.write(chunk);
  const auto after = ::mallinfo2().uordblks;
  EXPECT_LT(after, before + 64 * 1024) << "heap grew from " << before << " to " << after;
  EXPECT_EQ(sink.uncompressed_bytes(), 49 * 1024 * 1024);
  sink.finish();
}
#endif

/// Outcome of a test body run in a forked child.
struct ChildOutcome {
  int status = -1;     ///< 0: the expected Error(kIo); 1: no error; 2: another error; 77: skip
  std::string report;  ///< the error message, or why it was skipped
};

/// Runs `body` in a child process (for process-wide limits and mounts) and collects what it
/// reports on a pipe.
template <typename Body>
ChildOutcome in_child(Body body) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report;
    const int code = body(report);
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(code);
  }
  ::close(fds[1]);
  ChildOutcome outcome;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    outcome.report.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

/// Writes incompressible data to `file` until the sink fails; describes the error in `report`.
int write_until_failure(const fs::path& file, std::string& report) {
  try {
    GzipFileSink sink(file, 1);
    const std::string block = random_bytes(64 * 1024, 13);
    for (int i = 0; i < 256; ++i) sink.write(block);  // 16 MiB
    sink.finish();
    report = "no error";
    return 1;
  } catch (const Error& e) {
    report = std::string(e.code() == ErrorCode::kIo ? "io" : "other") + "|" +
             (e.retriable() ? "retriable" : "final") + "|" +
             (fs::exists(file) ? "file-left" : "file-removed") + "|" + e.what();
    return e.code() == ErrorCode::kIo ? 0 : 2;
  } catch (const std::exception& e) {
    report = e.what();
    return 2;
  }
}

TEST(GzipFileSinkTest, FileSizeLimitIsAnIoErrorAndRemovesTheFile) {
  testing::TempDir dir;
  const fs::path file = dir / "limited.csv.gz";
  const ChildOutcome out = in_child([&](std::string& report) {
    ::signal(SIGXFSZ, SIG_IGN);  // make write() fail with EFBIG instead of killing the process
    const rlimit limit{100 * 1024, 100 * 1024};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
      report = "setrlimit failed";
      return 77;
    }
    return write_until_failure(file, report);
  });
  RecordProperty("report", out.report);
  ASSERT_EQ(out.status, 0) << out.report;
  EXPECT_NE(out.report.find("io|final|file-removed|"), std::string::npos) << out.report;
  EXPECT_NE(out.report.find(file.string()), std::string::npos) << out.report;
  EXPECT_NE(out.report.find("file size limit"), std::string::npos) << out.report;
  EXPECT_FALSE(fs::exists(file));
}

/// Puts the calling process in its own mount namespace (with a user namespace when not root).
bool enter_mount_namespace() {
  if (::unshare(CLONE_NEWNS) == 0) return true;
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
  std::ofstream("/proc/self/setgroups") << "deny";
  std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
  std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
  return true;
}

TEST(GzipFileSinkTest, FullDiskIsAClearRetriableIoError) {
  testing::TempDir dir;
  const fs::path mount_point = dir / "small-fs";
  fs::create_directory(mount_point);
  const fs::path file = mount_point / "full.csv.gz";
  const ChildOutcome out = in_child([&](std::string& report) {
    if (!enter_mount_namespace() ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=256k") != 0) {
      report = std::string("cannot mount a small tmpfs here: ") + std::strerror(errno);
      return 77;
    }
    return write_until_failure(file, report);
  });
  if (out.status == 77) GTEST_SKIP() << out.report;
  RecordProperty("report", out.report);
  ASSERT_EQ(out.status, 0) << out.report;
  EXPECT_NE(out.report.find("io|retriable|file-removed|disk full"), std::string::npos)
      << out.report;
  EXPECT_NE(out.report.find(file.string()), std::string::npos) << out.report;
}

}  // namespace
}  // namespace user_export
