// parallel.hpp - the library's fork-join pool, public as humpty/thread_pool.hpp so that an
// embedding program can run every phase of a solve on a pool of its own.
#pragma once

#include "humpty/thread_pool.hpp"
