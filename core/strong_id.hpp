#pragma once

#include <compare>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace sagapay {

/// StrongId<Tag>: a string identifier that cannot be passed where another kind is expected.
///
///   PaymentId payment{"0b6c…"};
///   Charge(payment, CustomerId{"cust_1"});   // swapping the two does not compile
///
/// The text is opaque here; where an id must have a shape (a payment id is a UUID) the codec or
/// validator that makes it checks the shape.
template <class Tag>
class StrongId {
public:
    StrongId() = default;
    explicit StrongId(std::string value) : value_(std::move(value)) {}
    explicit StrongId(std::string_view value) : value_(value) {}
    explicit StrongId(const char* value) : value_(value) {}

    [[nodiscard]] const std::string& Value() const noexcept { return value_; }
    [[nodiscard]] bool Empty() const noexcept { return value_.empty(); }

    friend std::strong_ordering operator<=>(const StrongId& a, const StrongId& b) noexcept {
        return a.value_ <=> b.value_;
    }
    friend bool operator==(const StrongId& a, const StrongId& b) noexcept {
        return a.value_ == b.value_;
    }
    friend std::ostream& operator<<(std::ostream& out, const StrongId& id) {
        return out << id.value_;
    }

private:
    std::string value_;
};

using PaymentId = StrongId<struct PaymentIdTag>;            ///< A payment (UUID text).
using CustomerId = StrongId<struct CustomerIdTag>;          ///< The merchant's customer.
using IdempotencyKey = StrongId<struct IdempotencyKeyTag>;  ///< Scoped per customer.
using EventId = StrongId<struct EventIdTag>;                ///< An event envelope (UUID text).

}  // namespace sagapay

template <class Tag>
struct std::hash<sagapay::StrongId<Tag>> {
    std::size_t operator()(const sagapay::StrongId<Tag>& id) const noexcept {
        return std::hash<std::string>{}(id.Value());
    }
};
