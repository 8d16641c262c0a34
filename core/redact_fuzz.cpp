// libFuzzer target: PasswordRanges and RedactUrlPassword over URIs and libpq keyword/value
// strings. Properties: the ranges are in bounds, ordered and disjoint; the redacted text is the
// input with each range replaced by "***" (its length says so); the redacted text has the same
// passwords by the same parser, each of them masked.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/redact.hpp"
#include "testing/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    using fuzz::Check;
    const std::string_view url = fuzz::AsText(data, size);
    const std::vector<TextRange> ranges = PasswordRanges(url);
    std::size_t previous_end = 0;
    std::size_t masked = 0;
    for (const TextRange& range : ranges) {
        Check(range.begin <= range.end && range.end <= url.size(), "range in bounds", url);
        Check(range.begin >= previous_end, "ranges ordered and disjoint", url);
        previous_end = range.end;
        masked += range.end - range.begin;
    }

    const std::string redacted = RedactUrlPassword(url);
    Check(
        redacted.size() == url.size() - masked + 3 * ranges.size(),
        "each range and nothing else becomes ***",
        url
    );
    // Masking keeps the structure: the redacted text has as many passwords, each starting with
    // the mask. Except after a quoted value glued to what follows (`password='x'password=y`,
    // which libpq reads as two pairs): its mask `***` is unquoted and swallows the rest when
    // parsed again. Both values are masked all the same; nothing leaks.
    bool glued = false;
    for (const TextRange& range : ranges) {
        glued = glued || (range.end > range.begin && url[range.begin] == '\'' &&
                          range.end < url.size() && url[range.end] != ' ');
    }
    if (glued) {
        return 0;
    }
    const std::vector<TextRange> again = PasswordRanges(redacted);
    Check(again.size() == ranges.size(), "redaction keeps the passwords' count", url);
    for (const TextRange& range : again) {
        Check(
            std::string_view(redacted)
                .substr(range.begin, range.end - range.begin)
                .starts_with("***"),
            "no password survives redaction",
            url
        );
    }
    return 0;
}
