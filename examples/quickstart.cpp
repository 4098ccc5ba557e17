// flyshard quickstart: connect to a sharded layout, write and read keys, see where they live.
// Usage: quickstart [cluster.json]
#include <flyshard/flyshard.hpp>

#include <iostream>

int main(int argc, char** argv) try {
  auto topo = flyshard::Topology::from_json_file(argc > 1 ? argv[1] : "cluster.json");
  flyshard::ClientOptions opts;
  opts.request_timeout = std::chrono::milliseconds(200);
  flyshard::Client client(topo, opts);  // blocking calls, any thread

  client.set("product:{42}", R"({"name":"Tea","price_cents":450})");
  std::cout << "product:{42} = " << client.get("product:{42}").value_or("(nil)") << "\n";

  // cart:{u7} and orders:{u7} share the hash tag {u7}, so they share a shard.
  client.command({"HINCRBY", "cart:{u7}", "42", "2"});
  std::cout << "cart:{u7} on " << topo.shards[client.shard_for("cart:{u7}")].name
            << ", orders:{u7} on " << topo.shards[client.shard_for("orders:{u7}")].name << "\n";

  client.mset({{"a", "1"}, {"b", "2"}, {"c", "3"}});  // split per shard, sent in parallel
  auto many = client.mget({"a", "b", "c", "missing"});  // merged back in this order
  for (const auto& v : many) std::cout << v.value_or("(nil)") << " ";
  std::cout << "\n";

  // The async face: the callback runs once, on the library's loop thread.
  auto reply = client.async().command({"INCR", "visits"}).get();
  std::cout << "visits = " << reply.integer() << "\n";
  return 0;
} catch (const flyshard::Error& e) {
  std::cerr << "quickstart: " << e.what() << "\n";
  return 1;
}
