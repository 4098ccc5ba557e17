#pragma once
/// \file config_error.hpp
/// config_error(f): runs f, expects flyshard::Error(errc::config), returns its message, for
/// the unit tests of configuration parsing.
///
/// Test support only: not part of the installed library.

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

#include "flyshard/error.hpp"

namespace flyshard::testing {

/// Runs f and returns the message of the flyshard::Error(errc::config) it throws; records a
/// test failure (and returns "") for any other outcome.
inline std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::config) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

}  // namespace flyshard::testing
