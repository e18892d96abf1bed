#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace user_export {

/// A fixed number of threads with a bounded queue (the spec's usersExportExecutor). submit()
/// blocks while the queue is full (back-pressure instead of unbounded growth). Tasks run in
/// submission order per free thread; an exception in a task is delivered through its future and
/// never kills a worker. The destructor finishes queued tasks, then joins. Thread-safe.
class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t queue_capacity);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `task`; blocks while the queue holds `queue_capacity` tasks.
  std::future<void> submit(std::function<void()> task);
  /// Tasks queued and not yet started.
  std::size_t queued() const;

 private:
  void worker_loop();
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::packaged_task<void()>> queue_;
  std::size_t capacity_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace user_export
