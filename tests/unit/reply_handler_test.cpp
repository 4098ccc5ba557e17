#include "io/reply_handler.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

namespace flyshard::detail {
namespace {

Result<Reply> ok(std::string s) {
  return Result<Reply>(Reply::string(std::move(s)));
}

// A callable of exactly `N` bytes that appends what it is called with to *seen.
template <std::size_t N>
struct Sized {
  std::string* seen;
  std::array<char, N - sizeof(std::string*)> pad{};
  void operator()(Result<Reply> r) { *seen += r.ok() ? r.value().str() : r.message(); }
};

TEST(ReplyHandler, EmptyByDefaultAndFromNull) {
  ReplyHandler a;
  EXPECT_FALSE(a);
  ReplyHandler b = nullptr;
  EXPECT_FALSE(b);
  std::function<void(Result<Reply>)> none;
  ReplyHandler c = none;  // an empty std::function stays empty, as std::function would
  EXPECT_FALSE(c);
  void (*null_fn)(Result<Reply>) = nullptr;
  ReplyHandler d = null_fn;
  EXPECT_FALSE(d);
}

TEST(ReplyHandler, ExactlyTheInlineCapacityIsInline) {
  std::string seen;
  static_assert(sizeof(Sized<ReplyHandler::kInlineBytes>) == ReplyHandler::kInlineBytes);
  ReplyHandler h = Sized<ReplyHandler::kInlineBytes>{&seen};
  EXPECT_TRUE(h.holds_inline());
  h(ok("a"));
  EXPECT_EQ(seen, "a");
}

TEST(ReplyHandler, OneWordOverGoesToTheHeap) {
  std::string seen;
  ReplyHandler h = Sized<ReplyHandler::kInlineBytes + 8>{&seen};
  EXPECT_TRUE(h);
  EXPECT_FALSE(h.holds_inline());
  h(ok("b"));
  EXPECT_EQ(seen, "b");
}

TEST(ReplyHandler, HoldsAStdFunctionAndALambdaHoldingOneInline) {
  // What the library wraps per request: the caller's Callback, or get()'s converting lambda.
  std::string seen;
  std::function<void(Result<Reply>)> f = [&seen](Result<Reply> r) { seen += r.value().str(); };
  ReplyHandler direct = f;
  EXPECT_TRUE(direct.holds_inline());
  ReplyHandler wrapped = [f](Result<Reply> r) { f(std::move(r)); };
  EXPECT_TRUE(wrapped.holds_inline());
  direct(ok("x"));
  wrapped(ok("y"));
  EXPECT_EQ(seen, "xy");
}

TEST(ReplyHandler, MovesTakeTheCallableInlineAndOnTheHeap) {
  for (bool big : {false, true}) {
    auto owned = std::make_shared<std::string>();
    std::weak_ptr<std::string> alive = owned;
    ReplyHandler a;
    if (big) {
      std::array<char, 100> pad{};
      a = [owned, pad](Result<Reply> r) {
        *owned += r.value().str() + std::string(1, pad[0] + 'k');
      };
    } else {
      a = [owned](Result<Reply> r) { *owned += r.value().str(); };
    }
    std::string* text = owned.get();
    owned.reset();
    EXPECT_EQ(a.holds_inline(), !big);
    ReplyHandler b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by design
    ReplyHandler c;
    c = std::move(b);
    EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
    c(ok("m"));
    EXPECT_EQ(*text, big ? "mk" : "m");
    EXPECT_FALSE(alive.expired());
    c = nullptr;  // destroys the callable and what it holds, once
    EXPECT_TRUE(alive.expired());
  }
}

TEST(ReplyHandler, AssigningOverAHeldCallableDestroysIt) {
  auto first = std::make_shared<int>(1);
  std::weak_ptr<int> alive = first;
  ReplyHandler h = [first](Result<Reply>) {};
  first.reset();
  h = [](Result<Reply>) {};
  EXPECT_TRUE(alive.expired());
  EXPECT_TRUE(h);
}

TEST(ReplyHandler, PassesErrorsThrough) {
  std::string seen;
  ReplyHandler h = Sized<16>{&seen};
  h(Result<Reply>(errc::timeout, "late"));
  EXPECT_EQ(seen, "late");
}

}  // namespace
}  // namespace flyshard::detail
