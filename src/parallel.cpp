#include "parallel.hpp"

#include <algorithm>
#include <system_error>

#include <chrono>

namespace humpty {
namespace {

// How long a thread spins, waiting for the next round or for the end of this one, before it
// sleeps. A search calls run() thousands of times with little work in between, and a sleeping
// thread takes tens of microseconds to wake (measured: the published search 3-4% faster).
constexpr auto kSpin = std::chrono::microseconds(200);

template <typename Done>
void spin_until(Done done) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int k = 0; !done(); ++k) {
    if (k % 64 == 0 && std::chrono::steady_clock::now() > until) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

}  // namespace

int ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = hardware_threads();
  // More threads than 4 per core only cost memory (each has a stack; under a memory limit glibc
  // aborts a thread it cannot give thread-local storage), and results never depend on the count.
  threads = std::min(threads, 4 * hardware_threads());
  spin_ = threads <= hardware_threads();  // a spinning thread must not take a core from a working one
  workers_.reserve(std::size_t(threads - 1));
  for (int w = 1; w < threads; ++w) {
    // Out of threads (a process limit, a memory limit): run on the ones there are. Results do not
    // depend on the number of threads, and the library never throws.
    try {
      workers_.emplace_back([this, w] { work(w); });
    } catch (const std::system_error&) {
      break;
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : workers_) thread.join();
}

std::size_t ThreadPool::drain(const std::function<void(std::size_t, int)>& task, std::size_t count,
                              int worker) {
  std::size_t done = 0;
  for (std::size_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < count; ++done) {
    // An exception must not leave a worker thread (that ends the process): the first one is kept
    // and thrown again by run() on the calling thread, once the round is over.
    try {
      task(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> guard(failure_mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
  }
  return done;
}

void ThreadPool::work(int worker) {
  std::size_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    lock.unlock();
    if (spin_) {
      spin_until(
          [&] { return stopping_.load() || latest_generation_.load(std::memory_order_acquire) != seen; });
    }
    lock.lock();
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    // A worker joins a round only while holding the lock, and run() starts the next round only
    // when no worker is inside one, so no worker ever takes a task index of the wrong round.
    const auto* task = task_;
    std::size_t count = count_;
    ++active_;
    lock.unlock();
    std::size_t done = drain(*task, count, worker);
    lock.lock();
    --active_;
    finished_ += done;
    if (finished_ == count_ || active_ == 0) done_.notify_all();
  }
}

void ThreadPool::run(std::size_t count, const std::function<void(std::size_t, int)>& task) {
  if (count == 0) return;
  if (workers_.empty() || count == 1) {
    for (std::size_t i = 0; i < count; ++i) task(i, 0);
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0; });
    task_ = &task;
    count_ = count;
    finished_ = 0;
    next_.store(0, std::memory_order_relaxed);
    ++generation_;
    latest_generation_.store(generation_, std::memory_order_release);
  }
  wake_.notify_all();
  std::size_t done = drain(task, count, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  finished_ += done;
  if (spin_ && finished_ != count_) {
    lock.unlock();
    spin_until([&] { return finished_.load() == count; });
    lock.lock();
  }
  done_.wait(lock, [&] { return finished_ == count_; });
  lock.unlock();
  std::exception_ptr failure;
  {
    std::lock_guard<std::mutex> guard(failure_mutex_);
    std::swap(failure, failure_);
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace humpty
