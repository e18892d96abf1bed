#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace user_export::config_detail {

/// What is wrong with the key prefix of an `s3://bucket/prefix` store URL (the text after the
/// bucket's slash), or nullopt when it is fine. Object keys are the prefix, a slash and the
/// rest, so a prefix must not start with a slash, have an empty segment (`a//b`) or a `.` or
/// `..` segment (which some tools and proxies resolve, putting objects elsewhere). One
/// trailing slash is allowed.
std::optional<std::string> s3_prefix_problem(std::string_view prefix);

}  // namespace user_export::config_detail
