#include "format/csv_record_counter.hpp"

#include <isa-l/igzip_lib.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace user_export {
namespace {

constexpr std::size_t kOutputChunk = 256u << 10;

std::string inflate_problem(int rc) {
  switch (rc) {
    case ISAL_INVALID_BLOCK:
    case ISAL_INVALID_SYMBOL:
    case ISAL_INVALID_LOOKBACK:
      return "a damaged deflate block";
    case ISAL_INVALID_WRAPPER:
      return "no valid gzip header";
    case ISAL_INCORRECT_CHECKSUM:
      return "a gzip trailer whose CRC or length does not match the data";
    default:
      return "gzip error " + std::to_string(rc);
  }
}

}  // namespace

struct GzipCsvRecordCounter::State {
  inflate_state inflate{};
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(kOutputChunk);
  bool started = false;   ///< a byte was fed
  bool finished = false;  ///< the current member ended
};

GzipCsvRecordCounter::GzipCsvRecordCounter() : state_(std::make_unique<State>()) {
  isal_inflate_init(&state_->inflate);
  state_->inflate.crc_flag = ISAL_GZIP;
}

GzipCsvRecordCounter::~GzipCsvRecordCounter() = default;

void GzipCsvRecordCounter::feed(std::string_view compressed) {
  State& s = *state_;
  if (compressed.empty()) return;
  s.started = true;
  s.inflate.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(compressed.data()));
  s.inflate.avail_in = static_cast<std::uint32_t>(compressed.size());
  for (;;) {
    if (s.finished) {
      if (s.inflate.avail_in == 0) return;
      // Another gzip member follows: start it where the last one ended.
      std::uint8_t* next = s.inflate.next_in;
      const std::uint32_t avail = s.inflate.avail_in;
      isal_inflate_reset(&s.inflate);
      s.inflate.crc_flag = ISAL_GZIP;
      s.inflate.next_in = next;
      s.inflate.avail_in = avail;
      s.finished = false;
    }
    s.inflate.next_out = s.out.data();
    s.inflate.avail_out = static_cast<std::uint32_t>(s.out.size());
    const int rc = isal_inflate(&s.inflate);
    if (rc < 0) {
      throw Error(ErrorCode::kInvalidInput,
                  "the object is not a valid gzip file: " + inflate_problem(rc));
    }
    count(std::string_view(reinterpret_cast<const char*>(s.out.data()),
                           s.out.size() - s.inflate.avail_out));
    if (s.inflate.block_state == ISAL_BLOCK_FINISH) {
      s.finished = true;
      continue;
    }
    if (s.inflate.avail_in == 0 && s.inflate.avail_out > 0) return;  // wants more input
  }
}

std::int64_t GzipCsvRecordCounter::finish() {
  if (!state_->started) {
    throw Error(ErrorCode::kInvalidInput, "the object is empty, not a gzip file");
  }
  if (!state_->finished) {
    throw Error(ErrorCode::kInvalidInput,
                "the object's gzip stream ends early: the file is truncated");
  }
  return records_ + (open_record_ ? 1 : 0);
}

void GzipCsvRecordCounter::count(std::string_view text) {
  for (const char c : text) {
    if (c == '"') {
      in_quotes_ = !in_quotes_;  // a doubled quote toggles twice
      open_record_ = true;
    } else if (c == '\n' && !in_quotes_) {
      ++records_;
      open_record_ = false;
    } else {
      open_record_ = true;
    }
  }
}

}  // namespace user_export
