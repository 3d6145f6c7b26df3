// Catch2's main, compiled once in its own object.
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
