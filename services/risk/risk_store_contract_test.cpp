#include "services/risk/risk_store_contract.hpp"

#include <gtest/gtest.h>

#include "services/risk/in_memory_risk_store.hpp"

namespace sagapay::risk::contract {
namespace {

/// Starts at a whole second near the real time (the database's timestamps are near it too) and
/// ages what is stored by moving the clock.
Clock::TimePoint NearNow() {
    return std::chrono::time_point_cast<std::chrono::seconds>(SystemClock().Now());
}

class InMemoryHarness {
public:
    RiskUnitsOfWork& Units() { return units_; }
    void Age(std::chrono::seconds by) { clock_.Advance(by); }
    std::size_t PublishedEvents() { return units_.Events().Published().size(); }

private:
    testing::FakeClock clock_{NearNow()};
    InMemoryRiskUnitsOfWork units_{clock_};
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, RiskStoreContract, InMemoryHarness);

}  // namespace
}  // namespace sagapay::risk::contract
