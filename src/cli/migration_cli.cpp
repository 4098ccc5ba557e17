#include "migration_cli.hpp"

#include <unistd.h>

#include <algorithm>

namespace flyshard::cli {

void add_record_options(CLI::App& sub, RecordOptions& o) {
  sub.add_option("--fencing", o.fencing,
                 "how clients are kept from writing by a stale layout: lease (a client that has "
                 "not confirmed the epoch within --lease-ms stops writing) or strict (every "
                 "write checks the epoch)")
      ->capture_default_str()
      ->check(CLI::IsMember({"lease", "strict"}));
  sub.add_option("--lease-ms", o.lease_ms, "client lease, ms (also their registrations' TTL)")
      ->capture_default_str()
      ->check(CLI::Range(100u, 3600000u));
}

flyshard::detail::MigrateOptions migrate_options(const CommonOptions& common,
                                                 const RecordOptions& record) {
  flyshard::detail::MigrateOptions m;
  m.fencing = *flyshard::detail::fencing_from(record.fencing);
  m.lease_ms = record.lease_ms;
  m.links.connect_timeout = common.timeout();
  // Copies of big payloads need more than a status probe's deadline.
  m.links.request_timeout = std::max(common.timeout(), std::chrono::milliseconds(10000));
  m.links.verbose = common.verbose;
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  m.who = std::string("host ") + host + " pid " + std::to_string(::getpid());
  return m;
}

}  // namespace flyshard::cli
