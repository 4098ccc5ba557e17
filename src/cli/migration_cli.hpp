#pragma once
// What `flyshard migrate` and `flyshard init` share: the record's options (--fencing,
// --lease-ms), the hidden test hooks, and the migrator built from them.

#include <string>

#include "cli_options.hpp"
#include "reshard/migrator.hpp"

namespace flyshard::cli {

/// A migration refused (another migrator, another target, no record, after the flip).
inline constexpr int kExitRefused = 3;

struct RecordOptions {
  std::string fencing = "lease";  ///< --fencing lease|strict
  std::uint32_t lease_ms = 5000;  ///< --lease-ms
};

void add_record_options(CLI::App& sub, RecordOptions& o);

/// Migrator options from the command line (links' timeouts from --timeout-ms, the record's
/// fencing and lease, who we are for the lock).
flyshard::detail::MigrateOptions migrate_options(const CommonOptions& common,
                                                 const RecordOptions& record);

void add_init_command(CLI::App& app, Action& action);
void add_migrate_command(CLI::App& app, Action& action);

}  // namespace flyshard::cli
