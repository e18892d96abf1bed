#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace user_export {

/// Request headers, in order.
using S3Headers = std::vector<std::pair<std::string, std::string>>;

/// The headers that describe an uploaded object: `Content-Type` and one `x-amz-meta-{name}` per
/// metadata entry (sent with a single PUT or with the start of a multipart upload).
///   - Names are lower-cased; a name other than letters, digits, `-` and `_` is an error.
///   - Values are trimmed and runs of spaces collapsed to one, as SigV4 canonicalises them, so
///     the value signed is the value stored.
///   - Entries whose value is then empty are left out: libcurl 7.88 signs an empty header it
///     does not send, which the server would reject as a bad signature.
///   - A value with control characters or non-ASCII bytes is an error (HTTP headers cannot carry
///     it unencoded).
/// Errors are Error(kStorage), not retriable, naming the entry.
S3Headers s3_object_headers(std::string_view content_type,
                            const std::map<std::string, std::string>& metadata);

}  // namespace user_export
