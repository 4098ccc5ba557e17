// The `flyshard` operator tool. Subcommands live one per file (status.cpp, locate.cpp,
// plan.cpp, init.cpp, migrate.cpp); this file parses the command line and turns failures
// into the exit codes the tool promises: 0 ok, 1 a runtime failure (a node that had to answer
// did not), 2 a bad command line or cluster file, 3 a migration refused (init, migrate).

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_options.hpp"
#include "flyshard/error.hpp"
#include "migration_cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"flyshard: look at, plan and migrate a sharded Dragonfly/Redis cluster", "flyshard"};
  app.require_subcommand(1);
  flyshard::cli::Action action;
  flyshard::cli::add_status_command(app, action);
  flyshard::cli::add_locate_command(app, action);
  flyshard::cli::add_plan_command(app, action);
  flyshard::cli::add_init_command(app, action);
  flyshard::cli::add_migrate_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? flyshard::cli::kExitOk : flyshard::cli::kExitUsage;
  }
  try {
    return action();
  } catch (const flyshard::Error& e) {
    std::cerr << "flyshard: " << e.what() << '\n';
    return e.value() == flyshard::errc::config ? flyshard::cli::kExitUsage
                                               : flyshard::cli::kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "flyshard: " << e.what() << '\n';
    return flyshard::cli::kExitFailure;
  }
}
