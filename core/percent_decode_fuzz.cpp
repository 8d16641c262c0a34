// libFuzzer target: PercentDecode (Redis URLs, DSNs) and the HTTP UrlDecode's contract
// (adapters/http has its own fuzz target). Properties: decoding never grows the text; text
// without '%' is itself; a decoded text re-encoded (every byte as %XX) decodes back to it; a
// refusal means a '%' really is not followed by two hexadecimal digits.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/percent_decode.hpp"
#include "testing/fuzz_check.hpp"

namespace sagapay {
namespace {

bool HasBrokenEscape(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            continue;
        }
        if (i + 2 >= text.size() || HexDigitValue(text[i + 1]) < 0 ||
            HexDigitValue(text[i + 2]) < 0) {
            return true;
        }
        i += 2;
    }
    return false;
}

std::string EncodeEveryByte(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out += '%';
        out += kHex[byte >> 4];
        out += kHex[byte & 0x0f];
    }
    return out;
}

}  // namespace
}  // namespace sagapay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    using fuzz::Check;
    const std::string_view text = fuzz::AsText(data, size);
    const auto decoded = PercentDecode(text);
    Check(decoded.has_value() != HasBrokenEscape(text), "refused exactly on a broken escape", text);
    if (!decoded) {
        return 0;
    }
    Check(decoded->size() <= text.size(), "decoding never grows the text", text);
    if (text.find('%') == std::string_view::npos) {
        Check(*decoded == text, "text without escapes is itself", text);
    }
    Check(PercentDecode(EncodeEveryByte(*decoded)) == *decoded, "encode then decode", text);
    return 0;
}
