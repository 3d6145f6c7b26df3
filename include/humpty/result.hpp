// humpty/result.hpp - how the library reports failure.
//
// No exception crosses the public API. A function that can fail returns a Status (nothing to
// return) or a Result<T> (a value or a message). Messages name the input and the place, in the
// form `path:offset: what: expected X, got Y`, so that a command line can print them as they are.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace humpty {

// The outcome of an operation that returns nothing: ok, or a non-empty message.
class Status {
 public:
  Status() = default;
  static Status failure(std::string message) {
    Status status;
    status.message_ = message.empty() ? std::string("unknown error") : std::move(message);
    return status;
  }
  bool ok() const { return message_.empty(); }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// A value of type T, or the message that says why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit on purpose, `return value;`
  Result(Status failed) : message_(failed.message()) {  // NOLINT: `return Status::failure(..);`
    assert(!failed.ok() && "a Result needs a value or a failure");
  }
  static Result failure(std::string message) { return Result(Status::failure(std::move(message))); }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Precondition for the accessors below: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

  const std::string& message() const { return message_; }
  Status status() const { return ok() ? Status() : Status::failure(message_); }

 private:
  std::optional<T> value_;
  std::string message_;
};

}  // namespace humpty
