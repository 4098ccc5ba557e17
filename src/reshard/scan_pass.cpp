#include "reshard/scan_pass.hpp"

#include "reshard/phase_plan.hpp"

namespace flyshard::detail {

PassState run_pass(ShardLinks& links, const std::string& shard, const std::string& id,
                   const std::string& name, std::size_t count, const PageHandler& handle,
                   const PageDone& done) {
  PassState s = load_pass(links, shard, id, name);
  if (s.done) return s;
  const std::string run_id = node_run_id(links, shard);
  const std::string cursor = resume_cursor(s.cursor, s.run_id, run_id);
  if (cursor != s.cursor) s = PassState{};  // another node now: its counters start again too
  s.cursor = cursor;
  s.run_id = run_id;
  do {
    const Reply page = links.run(shard, {"SCAN", s.cursor, "COUNT", count});
    if (!page.is_array() || page.elements().size() != 2) {
      throw Error(errc::protocol_error,
                  "shard " + shard + ": unexpected SCAN reply " + page.to_string());
    }
    std::vector<std::string> keys;
    keys.reserve(page.elements()[1].elements().size());
    for (const Reply& k : page.elements()[1].elements()) keys.push_back(k.str());
    const PageResult r = handle(keys);
    s.cursor = page.elements()[0].str();
    s.done = s.cursor == "0";
    s.scanned += keys.size();
    s.keys += r.keys;
    s.bytes += r.bytes;
    save_pass(links, shard, id, name, s);
    if (done) done(s, r);
  } while (!s.done);
  return s;
}

}  // namespace flyshard::detail
