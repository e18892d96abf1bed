#pragma once

#include <string>
#include <string_view>

namespace user_export {

/// What a redacted secret is shown as.
inline constexpr std::string_view kRedacted = "***";

/// `text` with every `%XX` replaced by the byte it stands for (other text kept as it is).
std::string percent_decode(std::string_view text);

/// `url` with the password of its user-info (`user:secret@host`) and the value of any
/// `password`/`sslpassword` query parameter replaced by `***`. Parameter names are compared
/// after percent-decoding and in any letter case, as libpq reads them (`pass%77ord=` is a
/// password). Other parts are kept, so the result still says which database is meant.
std::string redact_url_password(std::string_view url);

/// An access key id shown by its first four characters and "…" (`***` when it is so short
/// that four characters would give most of it away).
std::string redact_access_key(std::string_view key);

/// Whether a librdkafka property name holds a secret (passwords, private keys, OAuth config).
bool is_secret_property(std::string_view name);

}  // namespace user_export
