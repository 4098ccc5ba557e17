#include "reshard/scan_pass.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "reshard/phase_plan.hpp"

namespace flyshard::detail {
namespace {

struct Page {
  std::vector<std::string> keys;
  std::string cursor;  // SCAN's cursor after this page
};

Page scan_page(ShardLinks& links, const std::string& shard, const std::string& cursor,
               std::size_t count) {
  const Reply page = links.run(shard, {"SCAN", cursor, "COUNT", count});
  if (!page.is_array() || page.elements().size() != 2) {
    throw Error(errc::protocol_error,
                "shard " + shard + ": unexpected SCAN reply " + page.to_string());
  }
  Page p;
  p.keys.reserve(page.elements()[1].elements().size());
  for (const Reply& k : page.elements()[1].elements()) p.keys.push_back(k.str());
  p.cursor = page.elements()[0].str();
  return p;
}

// A page being handled on a thread of its own.
struct Flight {
  Page page;
  PageResult result;
  std::exception_ptr error;
  bool finished = false;
  std::thread thread;
};

}  // namespace

PassState run_pass(ShardLinks& links, const std::string& shard, const std::string& id,
                   const std::string& name, std::size_t count, std::size_t inflight,
                   const PageHandler& handle, const PageDone& done) {
  PassState s = load_pass(links, shard, id, name);
  if (s.done) return s;
  const std::string run_id = node_run_id(links, shard);
  const std::string cursor = resume_cursor(s.cursor, s.run_id, run_id);
  if (cursor != s.cursor) s = PassState{};  // another node now: its counters start again too
  s.cursor = cursor;
  s.run_id = run_id;
  auto record = [&](const Page& page, const PageResult& r) {
    s.cursor = page.cursor;
    s.done = s.cursor == "0";
    s.scanned += page.keys.size();
    s.keys += r.keys;
    s.bytes += r.bytes;
    save_pass(links, shard, id, name, s);
    if (done) done(s, r);
  };
  if (inflight <= 1) {
    do {
      const Page page = scan_page(links, shard, s.cursor, count);
      record(page, handle(page.keys));
    } while (!s.done);
    return s;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Flight> window;  // in SCAN order; a deque keeps each Flight where it is
  std::string next = s.cursor;
  bool scanned_all = false;
  std::exception_ptr failed;
  // Every thread is joined before this returns or throws: they use the locals above.
  auto join_all = [&] {
    for (auto& f : window)
      if (f.thread.joinable()) f.thread.join();
  };
  try {
    while (!window.empty() || !scanned_all) {
      while (!failed && !scanned_all && window.size() < inflight) {
        Page page = scan_page(links, shard, next, count);
        next = page.cursor;
        scanned_all = next == "0";
        Flight& f = window.emplace_back();
        f.page = std::move(page);
        f.thread = std::thread([&f, &mu, &cv, &handle] {
          PageResult r;
          std::exception_ptr e;
          try {
            r = handle(f.page.keys);
          } catch (...) {
            e = std::current_exception();
          }
          std::lock_guard lock(mu);
          f.result = r;
          f.error = e;
          f.finished = true;
          cv.notify_all();
        });
      }
      if (window.empty()) break;
      Flight& front = window.front();
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return front.finished; });
      }
      front.thread.join();
      if (front.error && !failed) failed = front.error;
      if (!failed) record(front.page, front.result);
      window.pop_front();
    }
  } catch (...) {
    join_all();
    throw;
  }
  if (failed) std::rethrow_exception(failed);
  return s;
}

}  // namespace flyshard::detail
