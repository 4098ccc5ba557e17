#include "reshard/migrator.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <iostream>
#include <thread>

#include "reshard/checkpoint.hpp"
#include "reshard/client_wait.hpp"
#include "reshard/copier.hpp"
#include "reshard/dirty_drain.hpp"
#include "reshard/for_each_shard.hpp"
#include "reshard/latency_probe.hpp"
#include "reshard/migration_error.hpp"
#include "reshard/migration_lock.hpp"
#include "reshard/move_plan.hpp"
#include "reshard/scan_pass.hpp"
#include "reshard/verify.hpp"

namespace flyshard::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::chrono::milliseconds since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t);
}

std::vector<std::string> names_of(const Topology& t) {
  std::vector<std::string> n;
  for (const auto& s : t.shards) n.push_back(s.name);
  return n;
}

std::vector<std::string> union_of(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const auto& x : b)
    if (std::find(a.begin(), a.end(), x) == a.end()) a.push_back(x);
  return a;
}

// The share of keys that move, on synthetic keys: the copy's estimate of its total.
double moving_share(const MovePlan& plan) {
  int moved = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) moved += plan.moves("flyshard-estimate-" + std::to_string(i)) ? 1 : 0;
  return static_cast<double>(moved) / n;
}

// A decision taken into the outcome; a refusal is thrown.
void take_verdict(const Verdict& v, MigrationOutcome& out) {
  if (v.decision == Decision::refuse) throw MigrationRefused(v.message);
  out.decision = v.decision;
  out.message = v.message;
}

}  // namespace

struct Migrator::Run {
  std::unique_ptr<MigrationLock> lock;
  std::unique_ptr<MovePlan> plan;
  std::unique_ptr<RateLimiter> rate;
  std::unique_ptr<MoveContext> ctx;
  std::unique_ptr<LatencyProbe> probe;  // --adaptive

  ~Run() {
    // The probe's thread sets `rate`: it stops first.
    if (probe) probe->stop();
  }

  void prepare(ShardLinks& links, const TopologyRecord& r, const MigrateOptions& o,
               const std::function<void(const std::string&)>& say) {
    plan = std::make_unique<MovePlan>(source_layout(r), target_layout(r));
    rate = std::make_unique<RateLimiter>(o.rate);
    if (o.copy_gate) rate->gate(o.copy_gate);
    ctx.reset(new MoveContext{links, *plan, r.migration_id, o.copy, {}, *rate});
    const bool paced = o.rate > 0 || o.adaptive;
    ctx->batch_keys = o.copy_batch > 0 ? o.copy_batch : paced ? MigrateOptions::kPacedCopyBatch : 0;
    for (const auto& s : target_layout(r).shards)
      ctx->clock_offset[s.name] = clock_offset_ms(links.shard(s.name));
    if (o.adaptive) {
      AdaptiveRateOptions a = o.adaptive_rate;
      if (o.rate > 0) a.ceiling = o.rate;
      probe = std::make_unique<LatencyProbe>(
          std::vector<Topology>{source_layout(r), target_layout(r)}, o.links, a);
      const double base = probe->sample_baseline();
      say("adaptive rate: baseline round trip " + std::to_string(std::lround(base)) +
          " us; starting at " + std::to_string(std::lround(probe->aimd().rate())) + " keys/s");
      probe->steer(*rate);
    }
  }
};

Migrator::Migrator(Topology seed, MigrateOptions options)
    : seed_(std::move(seed)), options_(std::move(options)), links_(options_.links) {
  links_.add(seed_);
}

Migrator::~Migrator() = default;

void Migrator::report(MigrationProgress p) {
  if (!options_.on_progress) return;
  std::lock_guard lock(progress_mu_);
  options_.on_progress(p);
}

void Migrator::pause_point(const std::string& phase) {
  if (options_.pause_after != phase) return;
  {
    std::lock_guard lock(progress_mu_);
    std::cerr << "\nflyshard: paused after " << phase << std::endl;
  }
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

StoredRecords Migrator::read_all(const Topology* extra) {
  if (extra) links_.add(*extra);
  for (;;) {
    StoredRecords s = read_records(links_, links_.names(), seed_);
    if (!s.errors.empty()) throw Error(errc::shard_unavailable, s.errors.begin()->second);
    const auto best = s.newest();
    if (!best) return s;
    // The record may name shards the seed file does not (a finished migration): read them too.
    const std::size_t before = links_.names().size();
    links_.add(best->layout);
    if (best->target) links_.add(*best->target);
    if (best->previous) links_.add(*best->previous);
    if (links_.names().size() == before) return s;
  }
}

std::unique_ptr<MigrationLock> Migrator::lock_home(const TopologyRecord& r) {
  // The lock lives on the first shard of the layout the migration started from (the record's
  // layout until the flip, its previous one in the cleanup).
  const Topology& home = r.state == MigrationState::cleanup ? *r.previous : r.layout;
  return std::make_unique<MigrationLock>(links_, home.shards.at(0).name, options_.lock_ttl,
                                         options_.who);
}

TopologyRecord Migrator::locked_newest(Run& run, const Topology* extra) {
  StoredRecords s = read_all(extra);
  TopologyRecord r = *s.newest();
  if (!s.converged()) {
    // A write round a crash cut short: finish it before anything else.
    run.lock->check();
    converge(links_, union_of(record_shards(r), links_.names()), s, r);
  }
  return r;
}

TopologyRecord Migrator::step(Run& run, const TopologyRecord& from, const TopologyRecord& to) {
  run.lock->check();
  write_round(links_, union_of(record_shards(from), record_shards(to)), from.epoch, to);
  report({std::string(to_string(to.state)), to.epoch, 0, 0, 0,
          "epoch " + std::to_string(to.epoch) + ": " + std::string(to_string(to.state))});
  return to;
}

void Migrator::wait_clients(const TopologyRecord& r, const std::vector<std::string>& shards) {
  const auto within = options_.client_wait.count() > 0
                          ? options_.client_wait
                          : std::chrono::milliseconds(2 * r.lease_ms + 5000);
  const auto behind = wait_for_clients(links_, shards, r.epoch, within);
  if (behind.empty()) return;
  std::string who;
  for (const auto& l : behind) who += " " + l.client + "@" + l.shard + "=" + l.epoch;
  if (r.fencing == Fencing::strict) {
    // Strict fencing: the guard refuses their stale writes anyway; go on.
    report({std::string(to_string(r.state)), r.epoch, 0, 0, 0,
            "clients still behind epoch " + std::to_string(r.epoch) +
                " (strict fencing refuses "
                "their writes):" +
                who});
    return;
  }
  throw Error(errc::timeout, "clients did not follow epoch " + std::to_string(r.epoch) +
                                 " within " + std::to_string(within.count()) + " ms:" + who +
                                 " (run again to keep waiting)");
}

MigrationOutcome Migrator::init() {
  const StoredRecords s = read_all(nullptr);
  const auto best = s.newest();
  const Verdict v = decide_init(best, seed_);
  if (v.decision == Decision::refuse) throw MigrationRefused(v.message);
  MigrationOutcome out;
  out.decision = v.decision;
  out.message = v.message;
  if (v.decision == Decision::start) {
    TopologyRecord r;
    r.epoch = 1;
    r.layout = seed_;
    r.fencing = options_.fencing;
    r.lease_ms = options_.lease_ms;
    write_round(links_, names_of(seed_), 0, r);
    out.epoch = 1;
  } else {
    if (!s.converged()) converge(links_, names_of(seed_), s, *best);
    out.epoch = best->epoch;
  }
  return out;
}

MigrationOutcome Migrator::migrate(const Topology& target) {
  const auto t0 = SteadyClock::now();
  StoredRecords s = read_all(&target);
  MigrationOutcome out;
  out.epoch = s.newest() ? s.newest()->epoch : 0;
  Verdict v = decide_migrate(s.newest(), target);
  take_verdict(v, out);
  if (v.decision == Decision::nothing_to_do) return out;

  Run run;
  run.lock = lock_home(*s.newest());
  // Under the lock, look again: the record may have moved while we were taking it.
  TopologyRecord r = locked_newest(run, &target);
  v = decide_migrate(r, target);
  take_verdict(v, out);
  report({std::string(to_string(r.state)), r.epoch, 0, 0, 0, v.message});
  if (v.decision == Decision::nothing_to_do) return out;
  if (v.decision == Decision::start) {
    r = step(run, r,
             begin_migration(r, target, "m" + std::to_string(run.lock->token()), options_.fencing,
                             options_.lease_ms));
    pause_point("preparing");
  }
  run_phases(run, r, out);
  run.lock->release();
  out.total_time = since(t0);
  return out;
}

void Migrator::run_phases(Run& run, TopologyRecord r, MigrationOutcome& out) {
  run.prepare(links_, r, options_, [&](const std::string& m) {
    report({std::string(to_string(r.state)), r.epoch, 0, 0, 0, m});
  });
  const std::vector<std::string> sources = names_of(source_layout(r));
  SteadyClock::time_point cutover_started = SteadyClock::now();
  try {
    if (r.state == MigrationState::preparing) {
      wait_clients(r, sources);
      r = step(run, r, advance(r, MigrationState::copying));
    }
    if (r.state == MigrationState::copying) {
      copy_phase(run, r, out);
      r = step(run, r, advance(r, MigrationState::catchup));
    }
    bool checked_before = false;
    if (r.state == MigrationState::catchup) {
      drain_phase(run, r, false, out);
      pause_point("catchup");
      // What need not wait inside the freeze happens before it: the targets' replicas catch
      // up with the copies, and the sample is compared while clients still write.
      cutover_checks(run, r, false, nullptr);
      checked_before = true;
      r = step(run, r, advance(r, MigrationState::cutover));
      cutover_started = SteadyClock::now();
    }
    if (r.state == MigrationState::cutover) {
      // Each step is timed: together they are the pause of every moving key.
      auto t = SteadyClock::now();
      wait_clients(r, sources);
      const auto clients = since(t);
      t = SteadyClock::now();
      std::map<std::string, std::vector<std::string>> drained;
      drain_phase(run, r, true, out, &drained);
      const auto drain = since(t);
      t = SteadyClock::now();
      cutover_checks(run, r, true, checked_before ? &drained : nullptr);
      const auto checks = since(t);
      pause_point("cutover");
      t = SteadyClock::now();
      const TopologyRecord cut = r;
      r = step(run, r, flip(cut));
      out.cutover_time = since(cutover_started);
      report({"cleanup", r.epoch, 0, 0, 0,
              "cutover pause " + std::to_string(out.cutover_time.count()) + " ms: clients " +
                  std::to_string(clients.count()) + " ms, final drain " +
                  std::to_string(drain.count()) + " ms, replicas + verification " +
                  std::to_string(checks.count()) + " ms, flip " + std::to_string(since(t).count()) +
                  " ms"});
    }
  } catch (const MigrationUnrecoverable& e) {
    // Before the flip the sources are complete: roll back rather than leave half a move.
    out.aborted = true;
    out.abort_reason = e.what();
    report({"abort", r.epoch, 0, 0, 0, std::string("unrecoverable: ") + e.what() + "; aborting"});
    rollback_phase(run, r, out);
    return;
  }
  if (r.state == MigrationState::cleanup) {
    cleanup_phase(run, r, out);
    r = step(run, r, finish(r));
  }
  out.epoch = r.epoch;
}

void Migrator::copy_phase(Run& run, const TopologyRecord& r, MigrationOutcome& out) {
  const auto t0 = SteadyClock::now();
  const std::vector<std::string> sources = names_of(source_layout(r));
  std::uint64_t estimate = 0;
  const double share = moving_share(*run.plan);
  for (const auto& s : sources)
    estimate += static_cast<std::uint64_t>(
        static_cast<double>(links_.run(s, {"DBSIZE"}).as<long long>()) * share);
  std::mutex mu;
  std::uint64_t keys = 0, bytes = 0;
  for_each_shard(sources, [&](std::size_t, const std::string& source) {
    const PassState end = run_pass(
        links_, source, r.migration_id, "copy", options_.batch, options_.inflight,
        [&](const std::vector<std::string>& page) {
          const CopyCounts c = copy_moving(*run.ctx, source, page, false);
          std::lock_guard lock(mu);
          out.big_keys += c.big;
          out.longest_chunk = std::max(out.longest_chunk, c.longest_chunk);
          return PageResult{c.keys, c.bytes};
        },
        [&](const PassState&, const PageResult& page) {
          MigrationProgress now{"copying", r.epoch, 0, 0, 0, ""};
          {
            // The counters are shared by the sources' threads: read them under the lock too.
            std::lock_guard lock(mu);
            keys += page.keys;
            bytes += page.bytes;
            now = {"copying", r.epoch, keys, std::max(estimate, keys), bytes, ""};
          }
          report(std::move(now));
          // Every source stops after its current page, so a kill lands mid-copy everywhere.
          pause_point("copying");
        });
    (void)end;
  });
  out.keys_copied += keys;
  out.bytes_copied += bytes;
  out.copy_time = since(t0);
  if (run.probe)
    report({"copying", r.epoch, 0, 0, 0,
            "adaptive rate after the copy: " + std::to_string(std::lround(run.rate->rate())) +
                " keys/s, cut " + std::to_string(run.probe->cuts()) + " times"});
}

void Migrator::drain_phase(Run& run, const TopologyRecord& r, bool to_empty, MigrationOutcome& out,
                           std::map<std::string, std::vector<std::string>>* taken) {
  const std::vector<std::string> sources = names_of(source_layout(r));
  const std::string phase(to_string(r.state));
  // The final drain runs with moving keys frozen: nothing new is dirtied, and --rate would
  // only stretch the pause every writer of a moving key waits out.
  struct Lift {
    RateLimiter& rate;
    bool on;
    ~Lift() {
      if (on) rate.lift(false);
    }
  } lift{run.ctx->rate, to_empty};
  if (to_empty) run.ctx->rate.lift(true);
  // The catch-up drains go at --rate (its ceiling), not at the adaptive rate: they must keep
  // pace with the clients' writes of moving keys, which the rate does not govern. Held to
  // the adaptive rate, a run whose load wrote 4,000 moving keys/s let the dirty sets grow to
  // 96,000 keys while catch-up drained about 3,000/s, and passes of that size would have
  // taken minutes; what catch-up leaves is drained inside the freeze.
  // Nor in the adaptive rate's small batches: a drain's batch is what the script popped.
  struct Unsteer {
    LatencyProbe* probe;
    MoveContext& ctx;
    std::size_t batch_keys;
    ~Unsteer() {
      ctx.batch_keys = batch_keys;
      if (probe) probe->pause(false);
    }
  } unsteer{to_empty ? nullptr : run.probe.get(), *run.ctx, run.ctx->batch_keys};
  run.ctx->batch_keys = 0;
  if (unsteer.probe) {
    unsteer.probe->pause(true);
    run.ctx->rate.hold(false);
    run.ctx->rate.set_rate(options_.rate);
  }
  // Catch-up at --rate cannot converge while the clients dirty moving keys faster than the
  // rate drains them: every pass would be longer than the last, and what is left is drained
  // inside the freeze. Once a pass begins with the sets no smaller than the pass before it
  // began with, the rest of the catch-up drains unthrottled: its work is then the clients'
  // own writes of moving keys, each key copied once per pass, which the rate cannot lower
  // anyway. (At --rate 5000, a load writing 4,500 moving keys/s kept catch-up at it for
  // 20 passes and over a minute before this.)
  struct Unlift {
    RateLimiter& rate;
    bool on = false;
    ~Unlift() {
      if (on) rate.lift(false);
    }
  } unlift{run.ctx->rate};
  std::uint64_t previous_start = 0;
  for (int pass = 0;; ++pass) {
    std::mutex mu;
    std::uint64_t drained = 0, started = 0;
    for_each_shard(sources, [&](std::size_t, const std::string& source) {
      const std::size_t keep = taken ? options_.verify_per_source : 0;
      // Before the freeze a pass takes at most what the set held when it began: writers that
      // dirty keys as fast as --rate lets the drain go would otherwise keep one pass running
      // forever, and the pass bound below would never apply.
      std::uint64_t most = 0;
      if (!to_empty) {
        most = dirty_count(*run.ctx, source);
        if (most == 0) return;
      }
      {
        std::lock_guard lock(mu);
        started += most;
      }
      DrainCounts d = drain_dirty(*run.ctx, source, options_.batch, most, keep);
      std::lock_guard lock(mu);
      if (taken) {
        auto& mine = (*taken)[source];
        for (auto& k : d.taken)
          if (mine.size() < keep) mine.push_back(std::move(k));
      }
      drained += d.keys;
      out.big_keys += d.copy.big;
      out.longest_chunk = std::max(out.longest_chunk, d.copy.longest_chunk);
    });
    out.keys_drained += drained;
    report({phase, r.epoch, out.keys_drained, 0, 0, ""});
    if (to_empty ? drained == 0 : (drained < options_.catchup_small || pass >= 20)) break;
    if (!to_empty && !unlift.on && pass > 0 && started >= previous_start &&
        run.ctx->rate.rate() > 0) {
      unlift.on = true;
      run.ctx->rate.lift(true);
      report({phase, r.epoch, 0, 0, 0,
              "catch-up: the dirty sets did not shrink at " +
                  std::to_string(std::lround(run.ctx->rate.rate())) +
                  " keys/s (clients write moving keys faster); draining them unthrottled"});
    }
    previous_start = started;
  }
  if (to_empty) {
    // Empty sets are the cutover's precondition for the flip: look once more.
    for (const auto& s : sources) {
      if (const auto n = dirty_count(*run.ctx, s); n != 0)
        throw Error(errc::timeout, "shard " + s + ": " + std::to_string(n) +
                                       " dirty keys appeared with moving keys frozen "
                                       "(a client ignoring the cutover?); run again");
    }
  }
}

void Migrator::wait_replicas(const TopologyRecord& r) {
  // The targets' replicas must hold the copies before clients go there: a failover right
  // after the flip would otherwise lose them. One write + WAIT covers every earlier write
  // (replication is one ordered stream per primary); the targets are waited for at once.
  std::vector<std::string> targets;
  std::vector<const ShardSpec*> specs;
  for (const auto& spec : target_layout(r).shards) {
    if (spec.replicas.empty()) continue;
    targets.push_back(spec.name);
    specs.push_back(&spec);
  }
  for_each_shard(targets, [&](std::size_t i, const std::string& name) {
    const ShardSpec& spec = *specs[i];
    ReplicaAck ack;
    ack.replicas = static_cast<unsigned>(spec.replicas.size());
    ack.timeout = std::chrono::milliseconds(5000);
    const AckedReplies a = links_.shard(name).write_and_wait(
        {{"SET", wait_key(r.migration_id), std::to_string(r.epoch), "PX", "60000"}}, ack);
    if (!a.acked) {
      report({std::string(to_string(r.state)), r.epoch, 0, 0, 0,
              "shard " + name + " does not answer WAIT: its replicas are not confirmed"});
    } else if (!a.confirmed) {
      report({std::string(to_string(r.state)), r.epoch, 0, 0, 0,
              "shard " + name + ": " + std::to_string(*a.acked) + " of " +
                  std::to_string(spec.replicas.size()) + " replicas confirmed within 5 s"});
    }
  });
}

void Migrator::cutover_checks(Run& run, const TopologyRecord& r, bool frozen,
                              const std::map<std::string, std::vector<std::string>>* drained) {
  // Inside the freeze this WAIT only covers the final drain's writes when the replicas were
  // waited for before it.
  const auto t0 = SteadyClock::now();
  wait_replicas(r);
  const auto replicas = since(t0);
  const auto t1 = SteadyClock::now();
  const std::vector<std::string> sources = names_of(source_layout(r));
  std::vector<Mismatch> bad;
  if (drained) {
    std::vector<std::vector<Mismatch>> found(sources.size());
    for_each_shard(sources, [&](std::size_t i, const std::string& s) {
      if (const auto it = drained->find(s); it != drained->end() && !it->second.empty())
        found[i] = verify_keys(*run.ctx, s, it->second, !frozen);
    });
    for (auto& f : found) bad.insert(bad.end(), f.begin(), f.end());
  } else {
    bad = verify_sample(*run.ctx, sources, options_.verify_per_source, !frozen);
  }
  if (!bad.empty()) {
    std::string what;
    for (std::size_t i = 0; i < bad.size() && i < 5; ++i)
      what += " " + bad[i].key + ": " + bad[i].why + ";";
    throw MigrationUnrecoverable(std::to_string(bad.size()) +
                                 " sampled keys differ from their copies:" + what);
  }
  report({std::string(to_string(r.state)), r.epoch, 0, 0, 0,
          std::string(drained ? "verified the keys the final drain copied"
                              : "verified a sample of moving keys") +
              (frozen ? "" : " before the freeze") + " (replicas " +
              std::to_string(replicas.count()) + " ms, comparison " +
              std::to_string(since(t1).count()) + " ms)"});
}

std::uint64_t Migrator::sweep(
    Run& run, const TopologyRecord& r, const std::vector<std::string>& shards,
    const std::string& pass,
    const std::function<bool(const std::string& shard, const std::string& key)>& drop) {
  std::mutex mu;
  std::uint64_t unlinked = 0;
  for_each_shard(shards, [&](std::size_t, const std::string& shard) {
    run_pass(
        links_, shard, r.migration_id, pass, options_.batch, 1,
        [&](const std::vector<std::string>& page) {
          std::vector<std::string> keys;
          for (const auto& k : page)
            if (drop(shard, k)) keys.push_back(k);
          // In the copy's batches, each paced by the rate as the copy's are.
          const std::size_t step = run.ctx->batch_keys == 0 ? keys.size() : run.ctx->batch_keys;
          for (std::size_t at = 0; at < keys.size(); at += step) {
            std::vector<std::string> words{"UNLINK"};
            const auto first = keys.begin() + static_cast<std::ptrdiff_t>(at);
            words.insert(words.end(), first,
                         first + static_cast<std::ptrdiff_t>(std::min(step, keys.size() - at)));
            run.rate->acquire(words.size() - 1);
            links_.run(shard, Args(words));
          }
          return PageResult{keys.size(), 0};
        },
        [&](const PassState&, const PageResult& page) {
          MigrationProgress now{pass, r.epoch, 0, 0, 0, ""};
          {
            std::lock_guard lock(mu);
            unlinked += page.keys;
            now = {pass, r.epoch, unlinked, 0, 0, ""};
          }
          report(std::move(now));
          pause_point(pass);
        });
  });
  // The migration's own keys go last: the passes above checkpoint into them.
  for (const auto& s : union_of(names_of(source_layout(r)), names_of(target_layout(r))))
    links_.run(s, {"DEL", dirty_key(r.migration_id), inflight_key(r.migration_id),
                   progress_key(r.migration_id), wait_key(r.migration_id)});
  return unlinked;
}

void Migrator::cleanup_phase(Run& run, const TopologyRecord& r, MigrationOutcome& out) {
  const std::vector<std::string> sources = names_of(source_layout(r));
  // Clients still on the old layout read moving keys from the sources: unlink only once
  // every client follows the flip.
  wait_clients(r, union_of(sources, names_of(target_layout(r))));
  out.keys_unlinked +=
      sweep(run, r, sources, "cleanup", [&](const std::string& shard, const std::string& k) {
        return !is_internal_key(k) && run.plan->to_shard(k) != shard;
      });
}

void Migrator::rollback_phase(Run& run, const TopologyRecord& r, MigrationOutcome& out) {
  const std::string temp_prefix = "flyshard:tmp:" + r.migration_id + ":";
  // A target holds a copy exactly when layout A places the key elsewhere.
  out.keys_unlinked += sweep(run, r, names_of(target_layout(r)), "abort",
                             [&](const std::string& shard, const std::string& k) {
                               return (!is_internal_key(k) && run.plan->from_shard(k) != shard) ||
                                      k.starts_with(temp_prefix);
                             });
  const TopologyRecord back = step(run, r, rollback(r));
  out.aborted = true;
  out.epoch = back.epoch;
}

MigrationOutcome Migrator::abort() {
  const auto t0 = SteadyClock::now();
  StoredRecords s = read_all(nullptr);
  MigrationOutcome out;
  out.epoch = s.newest() ? s.newest()->epoch : 0;
  Verdict v = decide_abort(s.newest());
  take_verdict(v, out);
  if (v.decision == Decision::nothing_to_do) return out;
  Run run;
  run.lock = lock_home(*s.newest());
  TopologyRecord r = locked_newest(run, nullptr);
  v = decide_abort(r);
  take_verdict(v, out);
  if (v.decision == Decision::nothing_to_do) return out;
  report({"abort", r.epoch, 0, 0, 0, v.message});
  run.prepare(links_, r, options_, [&](const std::string& m) {
    report({"abort", r.epoch, 0, 0, 0, m});
  });
  rollback_phase(run, r, out);
  run.lock->release();
  out.total_time = since(t0);
  return out;
}

}  // namespace flyshard::detail
