#include "services/provider/provider_store_contract.hpp"

#include <gtest/gtest.h>

#include "services/provider/in_memory_provider_store.hpp"

namespace sagapay::provider::contract {
namespace {

class InMemoryHarness {
public:
    ProviderUnitsOfWork& Units() { return units_; }

    std::vector<AttemptRow> Attempts() {
        std::vector<AttemptRow> rows;
        for (const AttemptRecord& attempt : units_.Store().Attempts()) {
            rows.push_back(RowOf(attempt));
        }
        return rows;
    }

    std::size_t PublishedEvents() { return units_.Events().Published().size(); }

private:
    InMemoryProviderUnitsOfWork units_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, ProviderStoreContract, InMemoryHarness);

}  // namespace
}  // namespace sagapay::provider::contract
