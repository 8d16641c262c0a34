#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace sagapay {

/// The names of an enum's values, for the enums that travel as text (statuses, verdicts, codes):
///
///   constexpr EnumNames<ReviewStatus, 3> kNames{{{
///       {ReviewStatus::kPending, "PENDING"}, {ReviewStatus::kApproved, "APPROVED"}, …}}};
///   kNames.Name(ReviewStatus::kPending);   // "PENDING"
///   kNames.Parse("APPROVED");              // ReviewStatus::kApproved; nullopt for other text
///
/// One table serves both directions, so a name cannot be written one way and read another.
template <class E, std::size_t N>
class EnumNames {
public:
    using Entry = std::pair<E, std::string_view>;

    constexpr explicit EnumNames(std::array<Entry, N> entries) : entries_(std::move(entries)) {}

    /// The name of `value`; `fallback` for a value the table does not list.
    [[nodiscard]] constexpr std::string_view Name(E value, std::string_view fallback = {})
        const noexcept {
        for (const auto& [entry, name] : entries_) {
            if (entry == value) {
                return name;
            }
        }
        return fallback;
    }

    /// The value named `text` exactly (case-sensitive); nullopt for anything else.
    [[nodiscard]] constexpr std::optional<E> Parse(std::string_view text) const noexcept {
        for (const auto& [entry, name] : entries_) {
            if (name == text) {
                return entry;
            }
        }
        return std::nullopt;
    }

private:
    std::array<Entry, N> entries_;
};

}  // namespace sagapay
