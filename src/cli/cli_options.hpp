#pragma once
// What every subcommand shares: the cluster file, the per-node timeout, --json, logging; and
// the exit codes the tool promises (0 ok, 1 runtime failure, 2 usage or bad config).

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "flyshard/options.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// A failure at run time (a node that must answer did not): exit code 1. The message names
/// the node. Bad input (usage, config) is flyshard::Error(errc::config): exit code 2.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommonOptions {
  std::string config = "cluster.json";  ///< -c/--config
  int timeout_ms = 500;                 ///< --timeout-ms: connect and request deadline per node
  bool json = false;                    ///< --json
  bool verbose = false;                 ///< -v: the library's warnings go to stderr

  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms); }
};

/// Adds -c/--config, --timeout-ms, --json and -v to a subcommand.
void add_common_options(CLI::App& sub, CommonOptions& o);

/// Options for every Client the tool builds: short deadlines so a dead or hung node costs
/// one timeout, not a hang; one failure marks a node down (a one-shot tool gets no second
/// look); no background health rounds (the tool's own requests are the checks); the file's
/// nodes as given (no topology record followed: a probe asks the node it names); the
/// library's log silenced unless -v, because the tool reports each failure itself.
ClientOptions client_options(const CommonOptions& o);

/// client_options() for a Client that routes as programs do: it reads the topology record
/// at start (a migration may have changed the layout since the file was written), and no
/// more: a one-shot run needs no periodic read.
ClientOptions routing_client_options(const CommonOptions& o);

/// The layout programs route by now: the topology record's when the primaries hold one,
/// else the cluster file's. Throws flyshard::Error.
Topology routed_layout(const CommonOptions& o);

/// Loads the cluster file; a bad file throws flyshard::Error(errc::config) whose message
/// names the file and the JSON path.
Topology load_topology(const std::string& path);

/// What a subcommand runs once the command line is parsed; returns the exit code.
using Action = std::function<int()>;

void add_status_command(CLI::App& app, Action& action);
void add_locate_command(CLI::App& app, Action& action);
void add_plan_command(CLI::App& app, Action& action);

}  // namespace flyshard::cli
