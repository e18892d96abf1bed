#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace user_export {

/// The two steps of a graceful stop of a one-shot command (`export`, `relay`): begin() (the
/// first SIGTERM/SIGINT) sets `stop_claiming`, so nothing new starts; if the work in flight has
/// not finished `timeout` later, `cancel` is set, which stops streams and uploads (S3 multipart
/// uploads are aborted; claims are kept). finish() says the work is over.
class GracefulStop {
 public:
  explicit GracefulStop(std::chrono::milliseconds timeout);
  /// finish() and joins the timer.
  ~GracefulStop();
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

  /// Starts the stop because of the signal `name` (any thread; later calls do nothing).
  void begin(const char* name);
  /// The signal's name given to begin(), "" before.
  const char* reason() const { return reason_.load(); }
  /// The work is over: the timer ends without cancelling.
  void finish();
  /// Also runs `fn` when the timeout cancels (e.g. MessageSink::stop_waiting). Set it before
  /// the work it should cut short starts.
  void on_cancel(std::function<void()> fn);

  std::atomic<bool> stop_claiming{false};
  std::atomic<bool> cancel{false};

 private:
  std::atomic<const char*> reason_{""};
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::function<void()> on_cancel_;
  std::thread timer_;
};

/// Runs `fn` when `stop` cancels, for as long as this object lives (declare it after what `fn`
/// uses, so it is gone before that is).
class CancelHook {
 public:
  CancelHook(GracefulStop& stop, std::function<void()> fn) : stop_(stop) {
    stop_.on_cancel(std::move(fn));
  }
  ~CancelHook() { stop_.on_cancel({}); }
  CancelHook(const CancelHook&) = delete;
  CancelHook& operator=(const CancelHook&) = delete;

 private:
  GracefulStop& stop_;
};

}  // namespace user_export
