// humpty/thread_pool.hpp - a small fork-join pool. Work is split into tasks whose number and boundaries
// never depend on the number of threads; each task writes its own result slot, and the caller
// combines the slots in task order. That is what makes every result identical for any --threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace humpty {

class ThreadPool {
 public:
  // threads <= 0 means one per core; at most 4 per core are started. The calling thread is one
  // of them.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Runs task(index, worker) for every index in [0, count) and returns when all have finished.
  // If tasks throw (std::bad_alloc), the first exception is thrown here once all have finished.
  // `worker` (0 <= worker < size()) only selects scratch memory; it never affects a result.
  void run(std::size_t count, const std::function<void(std::size_t, int)>& task);

  static int hardware_threads();

 private:
  void work(int worker);
  std::size_t drain(const std::function<void(std::size_t, int)>& task, std::size_t count, int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t, int)>* task_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> finished_{0};           // tasks finished in this round, changed under mutex_
  int active_ = 0;                                 // workers inside a round, under mutex_
  std::size_t generation_ = 0;                     // bumped for every run(), under mutex_
  std::atomic<std::size_t> latest_generation_{0};  // the same, for workers spinning without the lock
  std::atomic<bool> stopping_{false};              // changed under mutex_
  bool spin_ = true;  // spin before sleeping: only when every thread has a core of its own
  std::mutex failure_mutex_;
  std::exception_ptr failure_;  // the first exception a task threw in this round
};

}  // namespace humpty
