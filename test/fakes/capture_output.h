// A command-line function run with std::cout and std::cerr captured, for tests of the
// `opsgate` subcommands (app/commands.h), which print and return an exit code.
//
//   auto r = opsgate::testing::CaptureOutput([&] { return RunPolicyTest(options); });
//   EXPECT_EQ(r.code, 0) << r.err;
#pragma once

#include <iostream>
#include <sstream>
#include <string>

namespace opsgate::testing {

struct CapturedRun {
  int code = -1;
  std::string out;
  std::string err;
};

template <class Fn>
CapturedRun CaptureOutput(Fn fn) {
  std::ostringstream out;
  std::ostringstream err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  CapturedRun r;
  r.code = fn();
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace opsgate::testing
