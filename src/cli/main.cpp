// The `flyshard` operator tool. Subcommands live one per file (status.cpp, locate.cpp,
// plan.cpp); this file parses the command line and turns failures into the exit codes the
// tool promises: 0 ok, 1 a runtime failure (a node that had to answer did not), 2 a bad
// command line or cluster file.

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_options.hpp"
#include "flyshard/error.hpp"

namespace {

// Resharding (issue 11) needs the topology record and epochs in the library first; until
// then these names answer clearly instead of "unknown subcommand".
void add_not_yet(CLI::App& app, const char* name, const char* what, flyshard::cli::Action& action) {
  CLI::App* sub = app.add_subcommand(name, what);
  sub->allow_extras();
  sub->callback([&action, name = std::string(name)] {
    action = [name] {
      std::cerr << "flyshard " << name
                << ": not implemented yet: online resharding lands with issue 11\n";
      return flyshard::cli::kExitUsage;
    };
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flyshard: look at and plan changes to a sharded Dragonfly/Redis cluster",
               "flyshard"};
  app.require_subcommand(1);
  flyshard::cli::Action action;
  flyshard::cli::add_status_command(app, action);
  flyshard::cli::add_locate_command(app, action);
  flyshard::cli::add_plan_command(app, action);
  add_not_yet(app, "migrate", "(not yet) move data to a new layout online", action);
  add_not_yet(app, "init", "(not yet) write the first topology record", action);

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
