#pragma once
// The two ways a migration step can fail beyond a transport error (which leaves everything
// resumable: run the migrator again).

#include <string>

#include "flyshard/error.hpp"

namespace flyshard::detail {

/// The migrator will not start: another migrator holds the lock, a migration to a different
/// layout is running, there is no topology record yet, an abort after the flip... Nothing
/// was changed. The message says what holds it and what to do. (`flyshard` exits with 3.)
class MigrationRefused : public Error {
 public:
  explicit MigrationRefused(const std::string& message) : Error(errc::config, message) {}
};

/// Retrying cannot cure it (a RESTORE the target refuses, a verified copy that differs from
/// its source): before the flip the migrator aborts on its own and reports this.
class MigrationUnrecoverable : public Error {
 public:
  explicit MigrationUnrecoverable(const std::string& message)
      : Error(errc::server_error, message) {}
};

}  // namespace flyshard::detail
