// assert.hpp - invariants of the search, checked in the sanitized build (make sanitize defines
// HUMPTY_ASSERTIONS) and compiled out otherwise: they cost evaluations the fast build must not pay.
// A failed invariant is a bug in humpty, not bad input: it stops the process with its place.
#pragma once

#include <cstdio>
#include <cstdlib>

#ifdef HUMPTY_ASSERTIONS
#define HUMPTY_ASSERT(condition)                                                                   \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "humpty: internal error: %s:%d: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
#else
#define HUMPTY_ASSERT(condition) \
  do {                           \
  } while (false && (condition))
#endif
