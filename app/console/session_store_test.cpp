#include "app/console/session_store.hpp"

#include <string>

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sagapay::console {
namespace {

class SessionStoreTest : public ::testing::Test {
protected:
    SessionStore Make(std::size_t max_sessions = 3) {
        return SessionStore(
            {.idle_timeout = std::chrono::seconds(60), .max_sessions = max_sessions},
            clock_,
            [this] { return "token-" + std::to_string(++counter_); }
        );
    }

    testing::FakeClock clock_;
    int counter_ = 0;
};

TEST_F(SessionStoreTest, OpenGivesAnIdAndACsrfTokenThatTouchFinds) {
    SessionStore store = Make();
    const Session session = store.Open("alice");

    EXPECT_EQ(session.id, "token-1");
    EXPECT_EQ(session.csrf_token, "token-2");
    const auto found = store.Touch(session.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->operator_name, "alice");
    EXPECT_EQ(found->csrf_token, "token-2");
    EXPECT_FALSE(store.Touch("token-2"));  // the CSRF token is not a session id
    EXPECT_FALSE(store.Touch(""));
}

TEST_F(SessionStoreTest, ASessionIdleForTheTimeoutEndsAndTouchingKeepsItAlive) {
    SessionStore store = Make();
    const Session kept = store.Open("alice");
    const Session idle = store.Open("bob");

    clock_.Advance(std::chrono::seconds(59));
    EXPECT_TRUE(store.Touch(kept.id));
    clock_.Advance(std::chrono::seconds(1));

    EXPECT_FALSE(store.Touch(idle.id));  // 60 s idle
    EXPECT_TRUE(store.Touch(kept.id));   // 1 s since its last use
    EXPECT_EQ(store.Size(), 1U);
}

TEST_F(SessionStoreTest, OpeningBeyondTheLimitEvictsTheLongestIdle) {
    SessionStore store = Make(2);
    const Session first = store.Open("a");
    clock_.Advance(std::chrono::seconds(1));
    const Session second = store.Open("b");
    clock_.Advance(std::chrono::seconds(1));
    ASSERT_TRUE(store.Touch(first.id));  // now `second` is the longest idle

    const Session third = store.Open("c");

    EXPECT_EQ(store.Size(), 2U);
    EXPECT_TRUE(store.Touch(first.id));
    EXPECT_FALSE(store.Touch(second.id));
    EXPECT_TRUE(store.Touch(third.id));
}

TEST_F(SessionStoreTest, CloseEndsTheSession) {
    SessionStore store = Make();
    const Session session = store.Open("alice");
    store.Close(session.id);
    store.Close("unknown");
    EXPECT_FALSE(store.Touch(session.id));
    EXPECT_EQ(store.Size(), 0U);
}

TEST(SessionCookie, IsFoundAmongOtherCookies) {
    EXPECT_EQ(SessionCookie("sagapay_console=abc"), "abc");
    EXPECT_EQ(SessionCookie("a=1; sagapay_console=abc; b=2"), "abc");
    EXPECT_EQ(SessionCookie("a=1;sagapay_console=abc"), "abc");
    EXPECT_EQ(SessionCookie("xsagapay_console=abc"), "");
    EXPECT_EQ(SessionCookie("a=1"), "");
    EXPECT_EQ(SessionCookie(""), "");
}

TEST(SessionCookie, IsSetHttpOnlyAndSameSiteStrictAndClearedWithMaxAgeZero) {
    EXPECT_EQ(SetSessionCookie("abc"), "sagapay_console=abc; HttpOnly; SameSite=Strict; Path=/");
    EXPECT_EQ(
        SetSessionCookie(""), "sagapay_console=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    );
}

}  // namespace
}  // namespace sagapay::console
