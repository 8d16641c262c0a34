#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <libpq-fe.h>

#include "core/unique_handle.hpp"

namespace sagapay::postgres {

using ResultHandle = UniqueHandle<PGresult, &PQclear>;

/// The rows of one statement, owned. Text format: Get() returns the text of a field.
class Rows {
public:
    Rows() = default;
    explicit Rows(ResultHandle result);

    [[nodiscard]] int Size() const noexcept;
    [[nodiscard]] bool Empty() const noexcept { return Size() == 0; }
    /// Rows changed by INSERT/UPDATE/DELETE.
    [[nodiscard]] std::int64_t Affected() const noexcept;
    [[nodiscard]] bool IsNull(int row, int col) const noexcept;
    [[nodiscard]] std::string_view Get(int row, int col) const noexcept;
    [[nodiscard]] std::string GetString(int row, int col) const {
        return std::string(Get(row, col));
    }
    [[nodiscard]] std::optional<std::string> GetOptional(int row, int col) const;
    /// Throws SqlError(kInternal) when the field is not an integer.
    [[nodiscard]] std::int64_t GetInt(int row, int col) const;
    [[nodiscard]] bool GetBool(int row, int col) const noexcept { return Get(row, col) == "t"; }
    /// Column index by name; throws SqlError(kInternal) when absent.
    [[nodiscard]] int Column(std::string_view name) const;

private:
    ResultHandle result_;
};

/// A text[] literal (`{"a","b",NULL}`) to pass as one parameter, e.g. to `unnest($1::text[])`:
/// one statement text (prepared once) whatever the number of rows. Quotes and backslashes are
/// escaped; std::nullopt is NULL.
[[nodiscard]] std::string TextArray(std::span<const std::optional<std::string>> values);
[[nodiscard]] std::string TextArray(std::span<const std::string> values);

}  // namespace sagapay::postgres
