#include "adapters/postgres/rows.hpp"

#include <charconv>
#include <system_error>
#include <utility>

#include "adapters/postgres/sql_error.hpp"

namespace sagapay::postgres {

Rows::Rows(ResultHandle result) : result_(std::move(result)) {}

int Rows::Size() const noexcept {
    return result_ ? PQntuples(result_.get()) : 0;
}

std::int64_t Rows::Affected() const noexcept {
    if (!result_) {
        return 0;
    }
    const std::string_view text = PQcmdTuples(result_.get());
    std::int64_t affected = 0;
    std::from_chars(text.data(), text.data() + text.size(), affected);
    return affected;
}

bool Rows::IsNull(int row, int col) const noexcept {
    return !result_ || PQgetisnull(result_.get(), row, col) != 0;
}

std::string_view Rows::Get(int row, int col) const noexcept {
    if (!result_) {
        return {};
    }
    const char* value = PQgetvalue(result_.get(), row, col);
    if (value == nullptr) {
        return {};
    }
    return {value, static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::optional<std::string> Rows::GetOptional(int row, int col) const {
    if (IsNull(row, col)) {
        return std::nullopt;
    }
    return GetString(row, col);
}

std::int64_t Rows::GetInt(int row, int col) const {
    if (IsNull(row, col)) {
        throw SqlError(
            ErrorCode::kInternal,
            "",
            "row " + std::to_string(row) + " column " + std::to_string(col) +
                " is NULL, not an integer"
        );
    }
    const std::string_view text = Get(row, col);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        throw SqlError(
            ErrorCode::kInternal,
            "",
            "row " + std::to_string(row) + " column " + std::to_string(col) +
                " is not an integer: '" + std::string(text.substr(0, 40)) + "'"
        );
    }
    return value;
}

int Rows::Column(std::string_view name) const {
    const int index = result_ ? PQfnumber(result_.get(), std::string(name).c_str()) : -1;
    if (index < 0) {
        throw SqlError(ErrorCode::kInternal, "", "no column named " + std::string(name));
    }
    return index;
}

namespace {

void AppendArrayElement(std::string& literal, const std::string* value) {
    if (literal.size() > 1) {
        literal.push_back(',');
    }
    if (value == nullptr) {
        literal += "NULL";
        return;
    }
    literal.push_back('"');
    for (const char c : *value) {
        if (c == '"' || c == '\\') {
            literal.push_back('\\');
        }
        literal.push_back(c);
    }
    literal.push_back('"');
}

}  // namespace

std::string TextArray(std::span<const std::optional<std::string>> values) {
    std::string literal = "{";
    for (const auto& value : values) {
        AppendArrayElement(literal, value ? &*value : nullptr);
    }
    literal.push_back('}');
    return literal;
}

std::string TextArray(std::span<const std::string> values) {
    std::string literal = "{";
    for (const std::string& value : values) {
        AppendArrayElement(literal, &value);
    }
    literal.push_back('}');
    return literal;
}

}  // namespace sagapay::postgres
