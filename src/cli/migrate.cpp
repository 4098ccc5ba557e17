// `flyshard migrate --to NEW.json`: moves the cluster to a new layout online (see
// src/reshard/migrator.hpp for the phases). Resumable: run it again after any failure or
// kill and it continues from the record and the checkpoints on the nodes. `--abort` rolls a
// migration back until its flip.
//
// Exit codes: 0 done (or nothing to do), 1 a node failed (run again to resume) or the
// migration aborted itself after an error it could not cure, 2 bad command line or cluster
// file, 3 refused (another migrator runs, a migration to another layout runs, no record: run
// `flyshard init`, an abort after the flip).

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "migration_cli.hpp"
#include "progress_view.hpp"
#include "reshard/migration_error.hpp"
#include "text_table.hpp"

namespace flyshard::cli {

namespace {

struct MigrateCliOptions {
  CommonOptions common;
  RecordOptions record;
  std::string to;
  bool abort = false;
  double rate = 0;
  std::size_t batch = 1000;
  std::size_t inflight = 2;
  std::size_t copy_batch = 0;
  bool adaptive = false;
  std::size_t big_elements = 10000;
  std::string pause_after;
  int lock_ttl_ms = 10000;
  int client_wait_ms = 0;
};

void print_outcome(const MigrateCliOptions& o, const flyshard::detail::MigrationOutcome& out) {
  const double copy_s = std::chrono::duration<double>(out.copy_time).count();
  if (o.common.json) {
    nlohmann::json j = {{"message", out.message},
                        {"epoch", out.epoch},
                        {"aborted", out.aborted},
                        {"abort_reason", out.abort_reason},
                        {"keys_copied", out.keys_copied},
                        {"bytes_copied", out.bytes_copied},
                        {"keys_drained", out.keys_drained},
                        {"keys_unlinked", out.keys_unlinked},
                        {"big_keys", out.big_keys},
                        {"longest_chunk_us", out.longest_chunk.count()},
                        {"copy_ms", out.copy_time.count()},
                        {"cutover_ms", out.cutover_time.count()},
                        {"total_ms", out.total_time.count()}};
    std::cout << j.dump(2) << '\n';
    return;
  }
  if (out.decision == flyshard::detail::Decision::nothing_to_do) {
    std::cout << "flyshard migrate: " << out.message << '\n';
    return;
  }
  if (out.aborted) {
    std::cout << "aborted" << (out.abort_reason.empty() ? "" : ": " + out.abort_reason)
              << "; removed " << group_digits(static_cast<long long>(out.keys_unlinked))
              << " copies from the targets; the record is back at the old layout (epoch "
              << out.epoch << ")\n";
    return;
  }
  std::cout << "migrated: epoch " << out.epoch << "; copied "
            << group_digits(static_cast<long long>(out.keys_copied)) << " keys ("
            << human_bytes(static_cast<double>(out.bytes_copied)) << ") in " << clock_text(copy_s);
  if (copy_s > 0) {
    std::cout << " (" << group_digits(static_cast<long long>(out.keys_copied / copy_s))
              << " keys/s)";
  }
  std::cout << "; " << group_digits(static_cast<long long>(out.keys_drained))
            << " dirty keys drained; cutover " << out.cutover_time.count() << " ms; "
            << group_digits(static_cast<long long>(out.keys_unlinked))
            << " keys unlinked from their old shards; total "
            << clock_text(std::chrono::duration<double>(out.total_time).count()) << '\n';
}

int run_migrate(MigrateCliOptions o) {
  if (!o.abort && o.to.empty()) {
    std::cerr << "flyshard migrate: --to FILE is required (or --abort)\n";
    return kExitUsage;
  }
  const Topology seed = load_topology(o.common.config);
  std::optional<Topology> target;
  if (!o.abort) target = load_topology(o.to);

  flyshard::detail::MigrateOptions m = migrate_options(o.common, o.record);
  m.rate = o.rate;
  m.batch = o.batch;
  m.inflight = o.inflight;
  m.copy_batch = o.copy_batch;
  m.adaptive = o.adaptive;
  m.copy.big_elements = o.big_elements;
  m.lock_ttl = std::chrono::milliseconds(o.lock_ttl_ms);
  m.client_wait = std::chrono::milliseconds(o.client_wait_ms);
  m.pause_after = o.pause_after;
  if (const char* env = std::getenv("FLYSHARD_MIGRATE_PAUSE_AFTER"); env && m.pause_after.empty())
    m.pause_after = env;
  ProgressView view(std::cerr, ::isatty(STDERR_FILENO) == 1);
  m.on_progress = [&view](const flyshard::detail::MigrationProgress& p) { view.update(p); };

  flyshard::detail::Migrator migrator(seed, std::move(m));
  flyshard::detail::MigrationOutcome out;
  try {
    out = o.abort ? migrator.abort() : migrator.migrate(*target);
  } catch (const flyshard::detail::MigrationRefused& e) {
    view.close();
    std::cerr << "flyshard migrate: refused: " << e.what() << '\n';
    return kExitRefused;
  } catch (const Error& e) {
    view.close();
    if (e.value() == errc::config) throw;
    std::cerr << "flyshard migrate: " << e.what()
              << "\nflyshard migrate: nothing is lost: run the same command again to resume\n";
    return kExitFailure;
  }
  view.close();
  print_outcome(o, out);
  return out.aborted && !o.abort ? kExitFailure : kExitOk;
}

}  // namespace

void add_migrate_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<MigrateCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "migrate", "move the data to a new layout while clients keep serving (resumable)");
  add_common_options(*sub, o->common);
  add_record_options(*sub, o->record);
  sub->add_option("--to", o->to, "the new layout (a cluster file)");
  sub->add_flag("--abort", o->abort, "roll back the running migration (only before its flip)");
  sub->add_option("--rate", o->rate, "keys per second at most, over all shards (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--batch", o->batch, "keys per SCAN page and per pipelined batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  sub->add_option("--inflight", o->inflight,
                  "copy pages in flight per source shard at once (reads overlap writes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--copy-batch", o->copy_batch,
                  "keys per pipelined copy batch; 0: 50 when paced (--rate, --adaptive), a "
                  "page's moving keys when not")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  sub->add_flag("--adaptive", o->adaptive,
                "adapt the rate to the nodes' load: back off while the round trip other "
                "clients see is over its baseline by 10 %; --rate is then the ceiling");
  sub->add_option("--big-elements", o->big_elements,
                  "collections with more elements are copied in chunks, not DUMPed whole")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  // Test hooks: not for operators, so not in --help.
  sub->add_option("--pause-after", o->pause_after)->group("");
  sub->add_option("--lock-ttl-ms", o->lock_ttl_ms)->group("")->check(CLI::Range(100, 600000));
  sub->add_option("--client-wait-ms", o->client_wait_ms)->group("");
  sub->callback([&action, o] { action = [o] { return run_migrate(*o); }; });
}

}  // namespace flyshard::cli
