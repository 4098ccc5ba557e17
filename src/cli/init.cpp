// `flyshard init`: writes the first topology record (epoch 1, stable, layout = the cluster
// file) on every primary. Run once per cluster, before clients follow epochs and before any
// migration. Again with the same layout: nothing to do (a half-written first round is
// completed). With another layout while a record exists: refused (exit 3).

#include <iostream>

#include <nlohmann/json.hpp>

#include "migration_cli.hpp"
#include "reshard/migration_error.hpp"

namespace flyshard::cli {

namespace {

struct InitOptions {
  CommonOptions common;
  RecordOptions record;
};

int run_init(const InitOptions& o) {
  const Topology t = load_topology(o.common.config);
  flyshard::detail::Migrator m(t, migrate_options(o.common, o.record));
  flyshard::detail::MigrationOutcome out;
  try {
    out = m.init();
  } catch (const flyshard::detail::MigrationRefused& e) {
    std::cerr << "flyshard init: refused: " << e.what() << '\n';
    return kExitRefused;
  }
  if (o.common.json) {
    nlohmann::json j = {{"written", out.decision == flyshard::detail::Decision::start},
                        {"epoch", out.epoch},
                        {"message", out.message}};
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << "flyshard init: " << out.message << " (" << t.shards.size() << " primaries, epoch "
              << out.epoch << ")\n";
  }
  return kExitOk;
}

}  // namespace

void add_init_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* sub =
      app.add_subcommand("init", "write the first topology record (epoch 1) on every primary");
  add_common_options(*sub, o->common);
  add_record_options(*sub, o->record);
  sub->callback([&action, o] { action = [o] { return run_init(*o); }; });
}

}  // namespace flyshard::cli
