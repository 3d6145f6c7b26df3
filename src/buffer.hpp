// buffer.hpp - vectors whose resize() does not zero what it adds.
#pragma once

#include <memory>
#include <new>
#include <utility>

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
