// AsyncClient's typed helpers: the blocking Client's counterparts, through command_as.
#include "flyshard/client.hpp"

namespace flyshard {

void AsyncClient::incr(std::string_view key, long long by, Callback<long long> cb) {
  command_as<long long>({"INCRBY", key, by}, std::move(cb));
}

void AsyncClient::hget(std::string_view key, std::string_view field,
                       Callback<std::optional<std::string>> cb) {
  command_as<std::optional<std::string>>({"HGET", key, field}, std::move(cb));
}

void AsyncClient::hset(std::string_view key,
                       const std::vector<std::pair<std::string, std::string>>& fields,
                       Callback<long long> cb) {
  std::vector<std::string_view> w{"HSET", key};
  for (const auto& [f, v] : fields) {
    w.push_back(f);
    w.push_back(v);
  }
  command_as<long long>(Args(w), std::move(cb));
}

void AsyncClient::hgetall(std::string_view key,
                          Callback<std::vector<std::pair<std::string, std::string>>> cb) {
  command_as<std::vector<std::pair<std::string, std::string>>>({"HGETALL", key}, std::move(cb));
}

void AsyncClient::hincrby(std::string_view key, std::string_view field, long long by,
                          Callback<long long> cb) {
  command_as<long long>({"HINCRBY", key, field, by}, std::move(cb));
}

void AsyncClient::publish(std::string_view channel, std::string_view message,
                          Callback<long long> cb) {
  command_as<long long>({"PUBLISH", channel, message}, std::move(cb));
}

void AsyncClient::eval(std::string_view script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args, Callback<Reply> cb) {
  const std::string numkeys = std::to_string(keys.size());
  std::vector<std::string_view> w{"EVAL", script, numkeys};
  w.insert(w.end(), keys.begin(), keys.end());
  w.insert(w.end(), args.begin(), args.end());
  command(Args(w), std::move(cb));
}

}  // namespace flyshard
