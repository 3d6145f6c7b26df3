// buffer.hpp - vectors whose resize() does not zero what it adds, megabyte ones in huge pages.
#pragma once

#include <cstdlib>
#include <memory>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace humpty {

// An allocator whose resize() leaves new elements unset (default-initialised, which for numbers
// means untouched), for large buffers that are filled before they are read: zeroing megabytes
// first costs a pass over memory and puts every page fault on the thread that resizes.
template <typename T>
struct UnsetAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UnsetAllocator<U>;
  };
  UnsetAllocator() = default;
  template <typename U>
  UnsetAllocator(const UnsetAllocator<U>&) noexcept {}
  // Buffers of megabytes are asked for in huge pages where the system has them (Linux's
  // transparent huge pages in "madvise" mode): the search's per-position streams, their
  // sensitivities and trial copies for 1024 rows are ~30 MB on the published net, and faulting
  // them in 4 kB at a time took ~35 ms of its 250 ms in a whole-process run on a VM with slow
  // page faults (medians of 9 runs, interleaved, three rounds: 265-268 ms before, 226-234 ms
  // after). No effect on any value, only on the mapping.
  static constexpr std::size_t kHugeBytes = std::size_t(4) << 20, kHugeAlign = std::size_t(2) << 20;
  T* allocate(std::size_t n) {
    if (n > std::size_t(-1) / sizeof(T) / 2) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugeBytes) return std::allocator<T>::allocate(n);
    const std::size_t rounded = (bytes + kHugeAlign - 1) / kHugeAlign * kHugeAlign;
    void* p = std::aligned_alloc(kHugeAlign, rounded);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: its failure changes nothing
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugeBytes) {
      std::allocator<T>::deallocate(p, n);
    } else {
      std::free(p);
    }
  }
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

}  // namespace humpty
