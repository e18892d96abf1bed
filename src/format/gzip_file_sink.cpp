#include "format/gzip_file_sink.hpp"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

#include "common/error.hpp"

namespace user_export {

namespace {

/// Level buffer sizes recommended by igzip_lib.h for each level (level 0 needs none).
std::uint32_t level_buffer_size(int level) {
  switch (level) {
    case 0:
      return ISAL_DEF_LVL0_DEFAULT;
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    default:
      return ISAL_DEF_LVL3_DEFAULT;
  }
}

/// The error for a failed system call on `path`, worded for the operator.
Error io_error(const char* op, const std::filesystem::path& path, int err) {
  const std::string reason = std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    return Error(ErrorCode::kIo,
                 "disk full: cannot " + std::string(op) + " staging file " + path.string() + " (" +
                     reason +
                     "); free space on that volume or point export.staging_dir at a larger one",
                 true);
  }
  if (err == EFBIG) {
    return Error(ErrorCode::kIo,
                 "file size limit reached: cannot " + std::string(op) + " staging file " +
                     path.string() + " (" + reason +
                     "); raise the process's file size limit (ulimit -f) for this service",
                 false);
  }
  if (err == EEXIST) {
    return Error(ErrorCode::kIo,
                 "staging file " + path.string() +
                     " already exists; another writer uses the same run id or an earlier "
                     "process left it behind; remove it or restart to clean the staging directory",
                 false);
  }
  const bool retriable = err == EIO || err == EAGAIN || err == EINTR || err == ENOMEM;
  return Error(ErrorCode::kIo,
               "cannot " + std::string(op) + " staging file " + path.string() + ": " + reason +
                   "; check the staging directory's permissions and disk",
               retriable);
}

}  // namespace

struct GzipFileSink::Impl {
  enum class State { kOpen, kFinished, kFailed };

  std::filesystem::path path;
  int fd = -1;
  int read_fd = -1;  ///< a read handle of the same open file, until taken
  State state = State::kOpen;
  isal_zstream stream{};
  std::unique_ptr<std::uint8_t[]> level_buf;
  std::unique_ptr<std::uint8_t[]> out;
  EVP_MD_CTX* sha = nullptr;
  std::int64_t in_bytes = 0;
  std::int64_t out_bytes = 0;
  std::optional<FileDigest> digest;
  std::function<void(std::int64_t)> on_written;

  ~Impl() {
    EVP_MD_CTX_free(sha);
    if (fd >= 0) ::close(fd);
    if (read_fd >= 0) ::close(read_fd);
    if (state != State::kFinished) ::unlink(path.c_str());
  }

  [[noreturn]] void fail(const char* op, int err) {
    state = State::kFailed;
    throw io_error(op, path, err);
  }

  [[noreturn]] void fail_internal(const std::string& what) {
    state = State::kFailed;
    throw Error(ErrorCode::kInternal, "gzip compression of " + path.string() + " failed: " + what);
  }

  void reset_output() {
    stream.next_out = out.get();
    stream.avail_out = static_cast<std::uint32_t>(kOutputBufferSize);
  }

  /// Hashes and writes the compressed bytes in the output buffer, then empties it.
  void drain() {
    const std::size_t n = kOutputBufferSize - stream.avail_out;
    if (n == 0) return;
    if (EVP_DigestUpdate(sha, out.get(), n) != 1) fail_internal("SHA-256 update");
    const std::uint8_t* p = out.get();
    std::size_t left = n;
    while (left > 0) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("write", errno);
      }
      if (w == 0) fail("write", EIO);
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    out_bytes += static_cast<std::int64_t>(n);
    reset_output();
    if (on_written) on_written(out_bytes);
  }

  void deflate() {
    const int rc = isal_deflate(&stream);
    if (rc != COMP_OK) fail_internal("isal_deflate returned " + std::to_string(rc));
  }

  void require_open() {
    if (state == State::kFinished) {
      throw Error(ErrorCode::kIo, "staging file " + path.string() +
                                      " is already finished; open a new sink to write more");
    }
    if (state == State::kFailed) {
      throw Error(ErrorCode::kIo, "staging file " + path.string() +
                                      " failed earlier and was abandoned; start the export again");
    }
  }
};

GzipFileSink::GzipFileSink(const std::filesystem::path& path, int level)
    : impl_(std::make_unique<Impl>()) {
  if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL) {
    impl_->state = Impl::State::kFinished;  // nothing was created, so nothing to remove
    throw Error(ErrorCode::kConfig, "gzip level " + std::to_string(level) +
                                        " is out of range; csv.gzip_level must be 0..3");
  }
  Impl& s = *impl_;
  s.path = path;
  s.state = Impl::State::kFinished;  // until the file exists, destruction must not unlink
  s.fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (s.fd < 0) throw io_error("create", path, errno);
  s.state = Impl::State::kOpen;
  s.read_fd = ::fcntl(s.fd, F_DUPFD_CLOEXEC, 0);
  if (s.read_fd < 0) s.fail("duplicate the descriptor of", errno);
  // The umask can only remove bits, but make the mode exact regardless.
  if (::fchmod(s.fd, 0600) != 0) s.fail("chmod", errno);

  s.sha = EVP_MD_CTX_new();
  if (s.sha == nullptr || EVP_DigestInit_ex(s.sha, EVP_sha256(), nullptr) != 1) {
    s.fail_internal("SHA-256 init");
  }
  s.out = std::make_unique<std::uint8_t[]>(kOutputBufferSize);
  isal_deflate_init(&s.stream);
  s.stream.level = static_cast<std::uint32_t>(level);
  s.stream.level_buf_size = level_buffer_size(level);
  if (s.stream.level_buf_size > 0) {
    s.level_buf = std::make_unique<std::uint8_t[]>(s.stream.level_buf_size);
    s.stream.level_buf = s.level_buf.get();
  }
  s.stream.gzip_flag = IGZIP_GZIP;
  s.stream.flush = NO_FLUSH;
  s.stream.end_of_stream = 0;
  s.reset_output();
}

GzipFileSink::~GzipFileSink() = default;

void GzipFileSink::write(std::string_view bytes) {
  Impl& s = *impl_;
  s.require_open();
  // ISA-L never writes through next_in; its field is just not declared const.
  auto* p = reinterpret_cast<std::uint8_t*>(const_cast<char*>(bytes.data()));
  std::size_t left = bytes.size();
  constexpr std::size_t kMaxChunk = std::size_t{1} << 30;  // avail_in is 32 bits
  while (left > 0) {
    const std::size_t chunk = std::min(left, kMaxChunk);
    s.stream.next_in = p;
    s.stream.avail_in = static_cast<std::uint32_t>(chunk);
    while (s.stream.avail_in > 0) {
      s.deflate();
      if (s.stream.avail_out == 0) s.drain();
    }
    p += chunk;
    left -= chunk;
    s.in_bytes += static_cast<std::int64_t>(chunk);
  }
}

FileDigest GzipFileSink::finish() {
  Impl& s = *impl_;
  if (s.state == Impl::State::kFinished && s.digest) return *s.digest;
  s.require_open();
  s.stream.next_in = nullptr;
  s.stream.avail_in = 0;
  s.stream.end_of_stream = 1;
  while (s.stream.internal_state.state != ZSTATE_END) {
    s.deflate();
    if (s.stream.avail_out == 0) s.drain();
  }
  s.drain();
  // No fsync: a staged file is read back by the upload (from the page cache) and removed; after
  // a crash it is discarded and the run streamed again, so its durability buys nothing.
  const int fd = s.fd;
  s.fd = -1;
  if (::close(fd) != 0) s.fail("close", errno);

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestFinal_ex(s.sha, md, &md_len) != 1) s.fail_internal("SHA-256 final");
  static constexpr char kHex[] = "0123456789abcdef";
  FileDigest d;
  d.bytes = s.out_bytes;
  d.sha256.reserve(2 * md_len);
  for (unsigned int i = 0; i < md_len; ++i) {
    d.sha256.push_back(kHex[md[i] >> 4]);
    d.sha256.push_back(kHex[md[i] & 0xf]);
  }
  s.state = Impl::State::kFinished;
  s.digest = d;
  return d;
}

void GzipFileSink::on_written(std::function<void(std::int64_t)> callback) {
  impl_->on_written = std::move(callback);
}

std::int64_t GzipFileSink::uncompressed_bytes() const {
  return impl_->in_bytes;
}

const std::filesystem::path& GzipFileSink::path() const {
  return impl_->path;
}

int GzipFileSink::take_read_fd() {
  const int fd = impl_->read_fd;
  impl_->read_fd = -1;
  return fd;
}

}  // namespace user_export
