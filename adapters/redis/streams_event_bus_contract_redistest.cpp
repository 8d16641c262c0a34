#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/redis/client.hpp"
#include "adapters/redis/streams_event_bus.hpp"
#include "core/ports/event_bus_contract.hpp"
#include "testing/test_env.hpp"

namespace sagapay::event_bus_contract {
namespace {

/// A RedisStreamsEventBus on the test server whose streams carry a prefix unique to the test;
/// they are deleted afterwards.
class RedisHarness {
public:
    static constexpr std::chrono::milliseconds kArrival{2000};

    RedisHarness()
        : endpoint_(redis::ParseRedisUrl(testing::TestRedisUrl())),
          prefix_(testing::UniqueName("contract-") + ":"),
          bus_(endpoint_, prefix_) {}

    RedisHarness(const RedisHarness&) = delete;
    RedisHarness& operator=(const RedisHarness&) = delete;

    ~RedisHarness() {
        try {
            redis::Connection admin(endpoint_);
            std::string cursor = "0";
            do {
                const redis::Reply page =
                    admin.Command({"SCAN", cursor, "MATCH", prefix_ + "*", "COUNT", "1000"});
                cursor = page.elements.at(0).str;
                std::vector<std::string> del{"DEL"};
                for (const redis::Reply& key : page.elements.at(1).elements) {
                    del.push_back(key.str);
                }
                if (del.size() > 1) {
                    (void)admin.Command(del);
                }
            } while (cursor != "0");
        } catch (const std::exception&) {  // Best effort: the prefix is unique anyway.
        }
    }

    EventBus& Bus() { return bus_; }

    /// A Redis consumer group exists from Subscribe on: nothing to wait for.
    static void Settle(const std::vector<EventSubscription*>& /*group*/) {}

private:
    redis::Endpoint endpoint_;
    std::string prefix_;  ///< UniqueName gives hex digits: no glob characters to escape.
    redis::RedisStreamsEventBus bus_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, EventBusContract, RedisHarness);

}  // namespace
}  // namespace sagapay::event_bus_contract
