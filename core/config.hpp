#pragma once
// JSON configuration: loading with clear errors and a reader that fills option structs with
// defaults, checks types and ranges, and rejects unknown keys, naming the full key path.
//
//   auto json = core::load_json_file("run.json");
//   core::JsonReader r(json, "run.json");
//   r.get("tolerance", opts.tolerance, 0.0, 1.0);   // optional: keeps the default if absent
//   auto solver = r.child("solver");               // nested object
//   r.finish();                                    // unknown keys -> error

#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"

namespace metaeik::core {

using Json = nlohmann::json;

/// Parses a JSON file. Errors name the file and, for syntax errors, the byte offset.
Json load_json_file(const std::filesystem::path& path);

/// Writes JSON atomically (temporary file, then rename), pretty-printed with 2 spaces.
void save_json_file(const std::filesystem::path& path, const Json& json);

/// Short type name of a JSON value for error messages ("number", "string", ...).
std::string json_type_name(const Json& j);

class JsonReader {
 public:
  /// @param json   must be an object
  /// @param source file name (or other origin) used as the prefix of every error message
  /// @param prefix key path of this object inside the file ("" at the top level)
  JsonReader(const Json& json, std::string source, std::string prefix = "");

  bool has(const std::string& key) const { return json_.contains(key); }

  /// Optional key: when present it must have the type of `value` (and lie in [lo, hi] for
  /// numbers); when absent `value` keeps its default.
  template <class T>
  void get(const std::string& key, T& value) {
    seen_.insert(key);
    if (!json_.contains(key)) return;
    value = convert<T>(json_.at(key), key);
  }
  template <class T>
  void get(const std::string& key, T& value, T lo, T hi) {
    get(key, value);
    if (json_.contains(key)) check_range(key, static_cast<double>(value), lo, hi);
  }
  /// Like get(), but the key must be present.
  template <class T>
  void require(const std::string& key, T& value) {
    METAEIK_CHECK(json_.contains(key), error_prefix(key) << "is required");
    get(key, value);
  }
  /// Optional string key restricted to a set of choices.
  void get_choice(const std::string& key, std::string& value, const std::vector<std::string>& choices);

  /// Nested object reader (an empty object when the key is absent).
  JsonReader child(const std::string& key);

  /// Throws if the object holds a key that no get()/child() asked for.
  void finish() const;

  /// "file: key 'a.b': " — the start of an error message about `key`.
  std::string error_prefix(const std::string& key) const;
  std::string key_path(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }
  const Json& json() const { return json_; }

 private:
  template <class T>
  T convert(const Json& j, const std::string& key) const {
    if constexpr (std::is_same_v<T, bool>) {
      METAEIK_CHECK(j.is_boolean(), error_prefix(key) << "expected a boolean, got " << json_type_name(j));
      return j.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      METAEIK_CHECK(j.is_number_integer(), error_prefix(key)
                                               << "expected an integer, got " << json_type_name(j));
      // nlohmann's get<T>() wraps values that do not fit T (4294967546 -> 250 for uint8_t).
      const bool fits =
          j.is_number_unsigned()
              ? j.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())
              : j.get<std::int64_t>() >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                    (std::is_unsigned_v<T> ||
                     j.get<std::int64_t>() <= static_cast<std::int64_t>(std::numeric_limits<T>::max()));
      METAEIK_CHECK(fits, error_prefix(key) << "integer " << j.dump() << " is out of range for this field");
      return j.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      METAEIK_CHECK(j.is_number(), error_prefix(key) << "expected a number, got " << json_type_name(j));
      return j.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      METAEIK_CHECK(j.is_string(), error_prefix(key) << "expected a string, got " << json_type_name(j));
      return j.get<std::string>();
    } else {
      // Arrays and other types nlohmann can convert (std::vector<double>, ...).
      try {
        return j.get<T>();
      } catch (const nlohmann::json::exception&) {
        METAEIK_FAIL(error_prefix(key) << "has the wrong type (" << json_type_name(j) << ")");
      }
    }
  }
  void check_range(const std::string& key, double v, double lo, double hi) const;

  Json json_;
  std::string source_;
  std::string prefix_;
  std::set<std::string> seen_;
};

}  // namespace metaeik::core
