// File: opsgate/core/strings.h
//
// Small string helpers shared by modules that must not pull in a dependency for them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opsgate::core {

// Length of the well-formed UTF-8 sequence starting at s[i] (1 to 4), or 0 if the
// bytes there are not one (bad lead byte, truncated, overlong, surrogate, > U+10FFFF).
// REQUIRES: i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Whether `s` is entirely well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

// `s` with every byte that does not start a well-formed UTF-8 sequence replaced by
// U+FFFD, so the result is always valid UTF-8.
std::string SanitizeUtf8(std::string_view s);

// Escapes `s` for inclusion inside a JSON string literal (without the quotes).
// Bytes that are not valid UTF-8 are replaced by U+FFFD so the output is always valid JSON.
std::string JsonEscape(std::string_view s);

// Splits on `sep`, keeping empty pieces.
std::vector<std::string_view> Split(std::string_view s, char sep);

// The words of `s`: runs of bytes other than ASCII space, tab, CR and LF (chat commands).
std::vector<std::string_view> Words(std::string_view s);

// Strips ASCII whitespace at both ends.
std::string_view Trim(std::string_view s);

// ASCII case folding (other bytes unchanged): for protocol tokens, header names, commands.
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);

// Parses a non-negative decimal integer made only of digits (no sign, no spaces,
// no leading '+'); nullopt on anything else or on overflow.
std::optional<uint64_t> ParseDigits(std::string_view s);

// The value of hex digit `c` (either case), or -1.
int HexDigitValue(char c);

// Percent-encoding for URL query components and application/x-www-form-urlencoded
// values: RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~) kept, every other byte
// as %XX (upper-case hex).
std::string PercentEncode(std::string_view s);

// Levenshtein edit distance, for did-you-mean suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` within a small edit distance, if any.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace opsgate::core
