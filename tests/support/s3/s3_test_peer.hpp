#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/services.hpp"  // services_required(), UE_SKIP_UNLESS_SERVICE
#include "support/temp_dir.hpp"  // TempDir, used beside the peer

namespace user_export::testing {

/// Where an S3 test server listens and how to sign for it.
struct S3PeerEnv {
  std::string endpoint;     ///< `http://127.0.0.1:PORT`
  std::string access_key;   ///< access key id
  std::string secret_key;   ///< secret key
  std::string request_log;  ///< JSON-lines log of the requests it answered ("" if unknown)
  std::string ca_bundle;    ///< certificate to trust for an https endpoint ("" for http)
};

/// UE_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REQUEST_LOG / _CA_BUNDLE; nullopt when
/// any of the first three is missing.
std::optional<S3PeerEnv> s3_peer_from_environment();

/// Exit status and standard output of a program run without a shell.
struct CommandResult {
  int exit_code = -1;  ///< exit status, or -1 when it did not exit normally
  std::string out;     ///< what it wrote to standard output
};

/// Runs `argv` (searched in PATH) with `extra_env` added to the environment; waits for it.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& extra_env = {});

/// A private S3 test server started with scripts/services/s3.sh in its own directory (so a test
/// can crash it without disturbing others). Stopped by the destructor.
class PrivateS3Peer {
 public:
  /// Starts a server in `dir` with extra server.js options (e.g. "--crash-on-part 2"), over
  /// https with a fresh self-signed certificate when `tls`; throws std::runtime_error when it
  /// does not start.
  PrivateS3Peer(std::filesystem::path dir, std::string server_args, bool tls = false);
  ~PrivateS3Peer();
  PrivateS3Peer(const PrivateS3Peer&) = delete;
  PrivateS3Peer& operator=(const PrivateS3Peer&) = delete;

  /// Its address and credentials.
  const S3PeerEnv& env() const { return env_; }

 private:
  std::filesystem::path dir_;
  S3PeerEnv env_;
};

/// The independent client: the curl command-line program with its own SigV4 signing. Paths are
/// given already percent-encoded (`bucket/dir%20one/k`), as the tests spell them out.
class CurlS3Client {
 public:
  /// Signs for `peer`.
  explicit CurlS3Client(S3PeerEnv peer) : peer_(std::move(peer)) {}
  /// GET `path` into `out`; returns the HTTP status (0 when curl failed).
  int get(const std::string& path, const std::filesystem::path& out) const;
  /// HEAD `path`: the status under key ":status" and headers with lower-case names.
  std::map<std::string, std::string> head(const std::string& path) const;
  /// The body of a signed GET of `path_and_query` (e.g. a bucket listing).
  std::string get_text(const std::string& path_and_query) const;
  /// DELETE `path`; returns the HTTP status.
  int remove(const std::string& path) const;
  /// PUT `path` with an empty body (e.g. create a bucket); returns the HTTP status.
  int put_empty(const std::string& path) const;

 private:
  std::vector<std::string> base_args() const;
  S3PeerEnv peer_;
};

/// Writes `size` bytes of deterministic, incompressible data (like a gzip file) to `path`.
void write_random_file(const std::filesystem::path& path, std::uint64_t size, std::uint64_t seed);

/// Lower-case hex SHA-256 of a file's contents.
std::string sha256_of_file(const std::filesystem::path& path);

/// The lines of the peer's request log (JSON objects with method, url, status).
std::vector<std::string> request_log_lines(const S3PeerEnv& peer);

}  // namespace user_export::testing
