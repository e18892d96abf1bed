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
///
/// A task may submit to its own pool, but with a full queue that blocks its worker until another
/// worker frees a slot, so a pool whose every worker does so deadlocks: do not rely on it.
class WorkerPool {
 public:
  /// Starts `threads` workers (at least 1); at most `queue_capacity` (at least 1) tasks wait.
  WorkerPool(std::size_t threads, std::size_t queue_capacity);
  /// Runs every queued task, then joins the workers. No submit() may start once it has begun,
  /// except from tasks of this pool.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `task`; blocks while the queue holds `queue_capacity` tasks. The future becomes
  /// ready when the task returns and rethrows whatever the task threw.
  std::future<void> submit(std::function<void()> task);
  /// Tasks queued and not yet started.
  std::size_t queued() const;
  /// The number of worker threads.
  std::size_t threads() const { return threads_.size(); }

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
