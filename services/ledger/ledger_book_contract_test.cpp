#include "services/ledger/ledger_book_contract.hpp"

#include <gtest/gtest.h>

#include "services/ledger/in_memory_ledger_book.hpp"

namespace sagapay::ledger::contract {
namespace {

/// InMemoryLedgerBook with PgLedgerBook's unit of work: a throwing unit leaves the book as it was.
class InMemoryHarness {
public:
    void Run(const std::function<void(LedgerBook&)>& work) {
        const InMemoryLedgerBook before = book_;
        try {
            work(book_);
        } catch (...) {
            book_ = before;
            throw;
        }
    }

private:
    InMemoryLedgerBook book_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, LedgerBookContract, InMemoryHarness);

}  // namespace
}  // namespace sagapay::ledger::contract
