// Upload throughput of the S3 store: uploads one staged file to the S3 server named by
// UE_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY and prints MiB/s. Run by scripts/bench-s3.sh,
// which starts the server and times the curl command-line program on the same file beside it.
//
// Usage: s3_upload_bench FILE MODE [PART_MIB] [PARALLEL] [CHECK]
//   MODE multipart: parts of PART_MIB (default 8) MiB, PARALLEL (default 2) at a time
//   MODE single:    one PUT of the whole file
//   CHECK verified (default): as the exporter uploads, through an open descriptor with the
//                   file's size and SHA-256 (computed before the timer starts), so checksums
//                   are sent and the object's size is checked; plain: by path, no checks
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/clock.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "observe/metrics.hpp"
#include "storage/s3/s3_store.hpp"

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::fprintf(stderr, "%s is not set (start the server with scripts/services/s3.sh)\n", name);
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace user_export;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE multipart|single [PART_MIB] [PARALLEL] [verified|plain]\n",
                 argv[0]);
    return 2;
  }
  const std::filesystem::path file = argv[1];
  const std::string mode = argv[2];
  const std::uint64_t part_mib = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 8;
  const int parallel = argc > 4 ? std::atoi(argv[4]) : 2;
  const bool verified = argc <= 5 || std::string(argv[5]) != "plain";

  StoreConfig config;
  config.url = "s3://ue-bench/bench";
  config.s3_endpoint = env("UE_TEST_S3_ENDPOINT");
  config.access_key = env("UE_TEST_S3_ACCESS_KEY");
  config.secret_key = env("UE_TEST_S3_SECRET_KEY");
  config.part_size = part_mib << 20;
  config.parallel_parts = parallel;
  config.multipart_threshold = mode == "single" ? UINT64_MAX : config.part_size;
  config.request_timeout = std::chrono::minutes{10};

  ThreadSleeper sleeper;
  SystemRandom random;
  Metrics metrics;
  try {
    const auto store = make_s3_store(config, &metrics, sleeper, random);
    store->ensure_ready();
    PutRequest put;
    put.key = "bench/" + mode + "-" + std::to_string(part_mib) + "-" + std::to_string(parallel) +
              (verified ? "" : "-plain") + ".bin";
    put.file = file;
    const int fd = verified ? ::open(file.c_str(), O_RDONLY | O_CLOEXEC) : -1;
    if (verified) {
      const FdDigest digest = sha256_of_fd(fd, file.string());
      put.fd = fd;
      put.bytes = digest.bytes;
      put.sha256 = digest.sha256;
    }
    const auto started = std::chrono::steady_clock::now();
    const StoredObject stored = store->put(put);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double mib = static_cast<double>(stored.bytes) / (1 << 20);
    std::printf("store %-9s part=%lluMiB parallel=%d  %.1f MiB in %.2f s = %.1f MiB/s  key=%s\n",
                mode.c_str(), static_cast<unsigned long long>(part_mib), parallel, mib, seconds,
                mib / seconds, put.key.c_str());
    if (fd >= 0) ::close(fd);
  } catch (const Error& e) {
    std::fprintf(stderr, "upload failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
