// S3Store::read: a GET of the object, its body handed on as it arrives (`verify`).
#include "common/error.hpp"
#include "storage/s3/s3_store.hpp"

namespace user_export {

void S3Store::read(const std::string& key, const ObjectChunkFn& chunk) {
  // No ensure_ready(): reading must never create the bucket or clean up uploads.
  const auto ctx = context("read", key);
  std::uint64_t delivered = 0;
  S3HttpRequest request{"GET", addressing_.object_url(key), {}, {}, {}};
  request.on_body = [&](std::string_view bytes) {
    chunk(bytes);
    delivered += bytes.size();
  };
  const auto answer = with_retry([&] {
    try {
      return send(request, ctx, {404});
    } catch (const Error& e) {
      // Bytes already handed on cannot be taken back: only a read that delivered nothing is
      // repeated.
      if (delivered == 0 || !e.retriable()) throw;
      throw Error(e.code(),
                  std::string(e.what()) + " (after " + std::to_string(delivered) +
                      " bytes of the object; read it again)",
                  false);
    }
  });
  if (answer.status == 404) {
    throw Error(
        ErrorCode::kStorage,
        "object '" + key + "' is not in bucket '" + location_.bucket + "' at " + ctx.endpoint,
        false);
  }
}

}  // namespace user_export
