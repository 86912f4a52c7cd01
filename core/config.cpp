#include "core/config.hpp"

#include <fstream>
#include <sstream>

#include "core/fs.hpp"

namespace metaeik::core {

Json load_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  METAEIK_CHECK(in, path.string() << ": cannot open file");
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    METAEIK_FAIL(path.string() << ": invalid JSON at byte " << e.byte);
  } catch (const nlohmann::json::exception& e) {
    // e.g. out_of_range 406 for a number like 1e999; drop the "[json.exception.…] " prefix.
    std::string what = e.what();
    if (const auto k = what.find("] "); what.rfind("[json.exception", 0) == 0 && k != std::string::npos)
      what = what.substr(k + 2);
    METAEIK_FAIL(path.string() << ": invalid JSON (" << what << ")");
  }
}

void save_json_file(const std::filesystem::path& path, const Json& json) {
  write_file_atomically(path, [&](std::ostream& os) { os << json.dump(2) << "\n"; });
}

std::string json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

JsonReader::JsonReader(const Json& json, std::string source, std::string prefix)
    : json_(json), source_(std::move(source)), prefix_(std::move(prefix)) {
  METAEIK_CHECK(json_.is_object(), source_ << ": "
                                           << (prefix_.empty() ? "top level" : "key '" + prefix_ + "'")
                                           << ": expected an object, got " << json_type_name(json_));
}

std::string JsonReader::error_prefix(const std::string& key) const {
  return source_ + ": key '" + key_path(key) + "': ";
}

void JsonReader::get_choice(const std::string& key, std::string& value,
                            const std::vector<std::string>& choices) {
  get(key, value);
  for (const auto& c : choices)
    if (c == value) return;
  std::ostringstream os;
  for (std::size_t i = 0; i < choices.size(); ++i) os << (i ? ", " : "") << "\"" << choices[i] << "\"";
  METAEIK_FAIL(error_prefix(key) << "unknown value \"" << value << "\" (expected one of " << os.str() << ")");
}

JsonReader JsonReader::child(const std::string& key) {
  seen_.insert(key);
  if (!json_.contains(key)) return JsonReader(Json::object(), source_, key_path(key));
  return JsonReader(json_.at(key), source_, key_path(key));
}

void JsonReader::finish() const {
  for (const auto& item : json_.items())
    METAEIK_CHECK(seen_.count(item.key()), error_prefix(item.key()) << "unknown key");
}

void JsonReader::check_range(const std::string& key, double v, double lo, double hi) const {
  METAEIK_CHECK(v >= lo && v <= hi, error_prefix(key)
                                        << "value " << v << " is out of range [" << lo << ", " << hi << "]");
}

}  // namespace metaeik::core
