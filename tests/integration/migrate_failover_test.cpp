// A source primary SIGKILLed mid-migration while Sentinel promotes its replica: the migrator
// (killed too, then started again, as an operator would after a failure) resumes through the
// sentinels and the migration completes with every key on its layout-B shard.
#include <gtest/gtest.h>

#include <fstream>

#include "eventually.hpp"
#include "local_cluster.hpp"
#include "migrate_support.hpp"

using namespace flyshard;
using namespace flyshard::testing;
namespace fs = std::filesystem;

namespace {

TEST(MigrateFailoverTest, SourcePrimaryKilledMidCopyAndPromotedTheMigrationCompletes) {
  ClusterOptions o;
  o.shards = 4;
  o.replicas = 1;
  o.sentinels = 3;
  o.down_after_ms = 500;
  o.failover_timeout_ms = 2000;
  LocalCluster cluster(o);
  const fs::path dir =
      fs::temp_directory_path() / ("flyshard-migrate-failover-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Topology all = cluster.topology();
  Topology three = all;
  three.shards.resize(3);
  const fs::path a = dir / "three.json", b = dir / "four.json";
  std::ofstream(a) << three.to_json();
  std::ofstream(b) << all.to_json();

  ASSERT_EQ(run_flyshard("init -c " + a.string(), dir).rc, 0);
  std::vector<std::string> keys;
  {
    Client c(three);
    keys = fill_every_type(c, 3000);
  }
  // Replicated before the kill: what the old primary held, the promoted replica holds.
  for (std::size_t i = 0; i < 3; ++i) cluster.primary(i).command({"WAIT", "1", "2000"});
  const auto before = snapshot(three, keys);
  {
    ToolProcess first({"migrate", "--lock-ttl-ms", "500", "--batch", "100", "-c", a.string(),
                       "--to", b.string(), "--pause-after", "copying"},
                      dir);
    ASSERT_TRUE(first.wait_for_stderr("paused after copying", std::chrono::seconds(30)))
        << first.err();
    first.kill();
  }
  const NodeAddress old_primary = cluster.primary(1).address();
  cluster.primary(1).kill();
  ASSERT_TRUE(eventually(
      [&] {
        try {
          return cluster.current_primary(1).address() != old_primary;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(30)))
      << "Sentinel did not promote s2's replica";

  // Resume until it completes (a lock replicated to a promoted node still has to expire).
  ToolRun r;
  ASSERT_TRUE(eventually(
      [&] {
        r = run_flyshard("migrate --lock-ttl-ms 500 -c " + a.string() + " --to " + b.string(), dir);
        return r.rc == 0;
      },
      std::chrono::seconds(60)))
      << r.err;
  Topology after = all;
  after.shards[1].primary = cluster.current_primary(1).address();
  after.shards[1].replicas.clear();
  {
    const auto problems = check_layout(after, after, before);
    std::string s;
    for (const auto& p : problems) s += p + "\n";
    EXPECT_TRUE(problems.empty()) << s;
  }
  fs::remove_all(dir);
}

}  // namespace
