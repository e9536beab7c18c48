// File: opsgate/core/check.h
//
// OPSGATE_CHECK(cond) aborts with file and line when an invariant of opsgate's own
// code is broken. Never use it on request input: bad input gets an Error.
#pragma once

#include <cstdio>
#include <cstdlib>

#define OPSGATE_CHECK(cond)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)
