#include "json_util.hpp"

#include <charconv>

namespace shop {

std::string error_body(std::string_view code, std::string_view message, const Json& extra) {
  Json body = Json::object();
  body["error"] = code;
  body["message"] = message;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = it.value();
  // Replace invalid UTF-8 (a message may quote client input) instead of throwing.
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json parse_object_body(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw HttpError(400, "bad_json", "the request body is not valid JSON");
  if (!j.is_object()) throw HttpError(400, "bad_json", "the request body must be a JSON object");
  return j;
}

std::optional<long long> parse_int(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace shop
