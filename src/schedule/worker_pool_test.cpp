#include "schedule/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace user_export {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

/// Meeting point for `n` tasks; `arrive_and_wait` gives up after a generous timeout so a pool
/// that does not run tasks in parallel fails the test instead of hanging it.
class Rendezvous {
 public:
  explicit Rendezvous(int n) : n_(n) {}
  bool arrive_and_wait() {
    std::unique_lock lock(mu_);
    if (++arrived_ == n_) cv_.notify_all();
    return cv_.wait_for(lock, seconds(20), [this] { return arrived_ >= n_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
  int arrived_ = 0;
};

TEST(WorkerPool, RunsTasksInParallel) {
  constexpr int kThreads = 4;
  WorkerPool pool(kThreads, 16);
  Rendezvous all_running(kThreads);
  std::vector<std::future<void>> futures;
  std::atomic<int> met{0};
  for (int i = 0; i < kThreads; ++i) {
    futures.push_back(pool.submit([&] {
      // Every task waits until all of them run at the same time: only true parallelism passes.
      if (all_running.arrive_and_wait()) met.fetch_add(1);
    }));
  }
  for (auto& f : futures) f.get();
  EXPECT_EQ(met.load(), kThreads);
}

TEST(WorkerPool, SubmitBlocksWhileTheQueueIsFull) {
  WorkerPool pool(1, 2);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::latch started(1);
  std::mutex mu;
  std::vector<std::string> events;
  auto log = [&](std::string e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  };

  auto first = pool.submit([&] {
    started.count_down();
    opened.wait();
    log("first task done");
  });
  started.wait();  // the worker holds the first task; the queue is empty
  auto second = pool.submit([] {});
  auto third = pool.submit([] {});
  EXPECT_EQ(pool.queued(), 2u);  // full

  auto blocked_submit = std::async(std::launch::async, [&] {
    auto f = pool.submit([] {});
    log("fourth submit returned");
    return f;
  });
  // The fourth submit cannot return while the queue is full and the worker is held.
  EXPECT_EQ(blocked_submit.wait_for(milliseconds(200)), std::future_status::timeout);
  log("gate opened");
  gate.set_value();
  auto fourth = blocked_submit.get();
  first.get();
  second.get();
  third.get();
  fourth.get();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], "gate opened");
  EXPECT_EQ(events[1], "first task done");
  EXPECT_EQ(events[2], "fourth submit returned");
}

TEST(WorkerPool, ExceptionsReachTheFutureAndTheWorkerSurvives) {
  WorkerPool pool(1, 4);
  auto failing = pool.submit([] { throw std::runtime_error("group 7 failed"); });
  std::atomic<bool> later_ran{false};
  auto later = pool.submit([&] { later_ran = true; });
  try {
    failing.get();
    FAIL() << "expected the task's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "group 7 failed");
  }
  later.get();
  EXPECT_TRUE(later_ran.load());
}

TEST(WorkerPool, DestructorRunsEveryQueuedTask) {
  constexpr int kTasks = 200;
  std::atomic<int> ran{0};
  std::vector<std::future<void>> futures;
  {
    WorkerPool pool(1, kTasks + 1);
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    futures.push_back(pool.submit([opened] { opened.wait(); }));
    for (int i = 0; i < kTasks; ++i) futures.push_back(pool.submit([&] { ran.fetch_add(1); }));
    EXPECT_GE(pool.queued(), static_cast<std::size_t>(kTasks));
    gate.set_value();
  }  // the destructor drains the queue before joining
  EXPECT_EQ(ran.load(), kTasks);
  for (auto& f : futures) EXPECT_NO_THROW(f.get());  // none abandoned (broken_promise)
}

TEST(WorkerPool, TasksMaySubmitFollowUpsToTheirOwnPool) {
  std::atomic<int> ran{0};
  std::future<void> follow_up;
  std::latch submitted(1);
  {
    WorkerPool pool(2, 4);
    pool.submit([&] {
      follow_up = pool.submit([&] { ran.fetch_add(1); });
      submitted.count_down();
    });
    submitted.wait();
  }
  follow_up.get();
  EXPECT_EQ(ran.load(), 1);
}

TEST(WorkerPool, ZeroSizesAreClampedToOne) {
  WorkerPool pool(0, 0);
  std::atomic<int> ran{0};
  auto a = pool.submit([&] { ran.fetch_add(1); });
  auto b = pool.submit([&] { ran.fetch_add(1); });
  a.get();
  b.get();
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace user_export
