#include "support/s3/s3_test_peer.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace user_export::testing {
namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

/// Parses `export NAME=VALUE` lines.
std::map<std::string, std::string> read_env_file(const std::filesystem::path& file) {
  std::map<std::string, std::string> values;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    constexpr std::string_view kExport = "export ";
    if (line.rfind(kExport, 0) == 0) line.erase(0, kExport.size());
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

}  // namespace

std::optional<S3PeerEnv> s3_peer_from_environment() {
  S3PeerEnv env{env_or_empty("UE_TEST_S3_ENDPOINT"), env_or_empty("UE_TEST_S3_ACCESS_KEY"),
                env_or_empty("UE_TEST_S3_SECRET_KEY"), env_or_empty("UE_TEST_S3_REQUEST_LOG"),
                env_or_empty("UE_TEST_S3_CA_BUNDLE")};
  if (env.endpoint.empty() || env.access_key.empty() || env.secret_key.empty()) {
    return std::nullopt;
  }
  return env;
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& extra_env) {
  // Everything the child needs is prepared before fork(): between fork() and exec() a child of
  // a multi-threaded process may only make async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (extra_env.count(entry.substr(0, entry.find('='))) == 0) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : extra_env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = argv;
  std::vector<char*> args;
  for (auto& a : arg_strings) args.push_back(a.data());
  args.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  CommandResult result;
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n <= 0) break;
    result.out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

PrivateS3Peer::PrivateS3Peer(std::filesystem::path dir, std::string server_args, bool tls)
    : dir_(std::move(dir)) {
  const std::string script = std::string(UE_SOURCE_DIR) + "/scripts/services/s3.sh";
  const auto started =
      run_command({"bash", script, "start", dir_.string()},
                  {{"UE_S3_PEER_ARGS", server_args}, {"UE_S3_PEER_TLS", tls ? "1" : ""}});
  const auto values = read_env_file(dir_ / "s3.env");
  if (started.exit_code != 0 || values.count("UE_TEST_S3_ENDPOINT") == 0) {
    run_command({"bash", script, "stop", dir_.string()});
    throw std::runtime_error("could not start a private S3 test server with " + script);
  }
  env_ = S3PeerEnv{values.at("UE_TEST_S3_ENDPOINT"), values.at("UE_TEST_S3_ACCESS_KEY"),
                   values.at("UE_TEST_S3_SECRET_KEY"), values.at("UE_TEST_S3_REQUEST_LOG"),
                   values.count("UE_TEST_S3_CA_BUNDLE") != 0 ? values.at("UE_TEST_S3_CA_BUNDLE")
                                                             : std::string()};
}

PrivateS3Peer::~PrivateS3Peer() {
  run_command(
      {"bash", std::string(UE_SOURCE_DIR) + "/scripts/services/s3.sh", "stop", dir_.string()});
}

std::vector<std::string> CurlS3Client::base_args() const {
  std::vector<std::string> args = {"curl",        "-sS",
                                   "--max-time",  "120",
                                   "--aws-sigv4", "aws:amz:us-east-1:s3",
                                   "-u",          peer_.access_key + ":" + peer_.secret_key,
                                   "-H",          "x-amz-content-sha256: UNSIGNED-PAYLOAD"};
  if (!peer_.ca_bundle.empty()) args.insert(args.end(), {"--cacert", peer_.ca_bundle});
  return args;
}

int CurlS3Client::get(const std::string& path, const std::filesystem::path& out) const {
  auto args = base_args();
  args.insert(args.end(), {"-o", out.string(), "-w", "%{http_code}", peer_.endpoint + "/" + path});
  const auto r = run_command(args);
  return r.exit_code == 0 ? std::atoi(r.out.c_str()) : 0;
}

std::map<std::string, std::string> CurlS3Client::head(const std::string& path) const {
  auto args = base_args();
  args.insert(args.end(), {"-I", peer_.endpoint + "/" + path});
  const auto r = run_command(args);
  std::map<std::string, std::string> headers;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      const auto space = line.find(' ');
      headers[":status"] = line.substr(space + 1, 3);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    headers[name] = value;
  }
  return headers;
}

std::string CurlS3Client::get_text(const std::string& path_and_query) const {
  auto args = base_args();
  args.push_back(peer_.endpoint + "/" + path_and_query);
  return run_command(args).out;
}

int CurlS3Client::remove(const std::string& path) const {
  auto args = base_args();
  args.insert(args.end(), {"-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}",
                           peer_.endpoint + "/" + path});
  return std::atoi(run_command(args).out.c_str());
}

int CurlS3Client::put_empty(const std::string& path) const {
  auto args = base_args();
  args.insert(args.end(),
              {"-X", "PUT", "-o", "/dev/null", "-w", "%{http_code}", peer_.endpoint + "/" + path});
  return std::atoi(run_command(args).out.c_str());
}

void write_random_file(const std::filesystem::path& path, std::uint64_t size, std::uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::mt19937_64 engine(seed);
  std::vector<std::uint64_t> block(8192);
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& word : block) word = engine();
    const auto n = std::min<std::uint64_t>(left, block.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  if (!out) throw std::runtime_error("could not write " + path.string());
}

std::string sha256_of_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

std::vector<std::string> request_log_lines(const S3PeerEnv& peer) {
  std::vector<std::string> lines;
  std::ifstream in(peer.request_log);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace user_export::testing
