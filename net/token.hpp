#pragma once

#include <string>
#include <string_view>

namespace facilityd {

/// Gateway tokens are random secrets; the database keeps only their hash,
/// "sha256:" followed by 64 lowercase hex digits. A plain SHA-256 suffices
/// because tokens carry 256 random bits: there is nothing to brute-force.
/// The same hash in SQL: 'sha256:' || encode(sha256(convert_to(t, 'UTF8')),
/// 'hex').
std::string hash_token(std::string_view token);

/// Whether `token` hashes to `stored`. Takes the same time whether or not
/// they match, and however much of them matches.
bool token_matches(std::string_view stored, std::string_view token);

/// A new token: 32 random bytes from OpenSSL's generator as 64 hex digits.
std::string generate_token();

}  // namespace facilityd
