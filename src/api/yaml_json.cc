#include "api/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {
namespace {

using nlohmann::json;

json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  // yaml-cpp tags quoted scalars "!" and plain ones "?".
  if (node.Tag() == "!") return text;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  int64_t integer = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (ec == std::errc() && end == text.data() + text.size()) return integer;
  if (text.find_first_of("0123456789") != std::string::npos &&
      text.find_first_not_of("0123456789+-.eE") == std::string::npos) {
    char* stop = nullptr;
    double d = std::strtod(text.c_str(), &stop);
    if (stop && *stop == '\0') return d;
  }
  return text;
}

json NodeToJson(const YAML::Node& node, const std::string& origin) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(NodeToJson(item, origin));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar())
          throw Error(fmt::format("{} line {}: a mapping key must be a plain value", origin, kv.first.Mark().line + 1));
        const std::string key = kv.first.Scalar();
        if (out.contains(key))
          throw Error(fmt::format("{} line {}: key '{}' appears twice", origin, kv.first.Mark().line + 1, key));
        out[key] = NodeToJson(kv.second, origin);
      }
      return out;
    }
  }
  return nullptr;
}

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  YAML::Node probe;
  try {
    probe = YAML::Load(s);
  } catch (const YAML::Exception&) {
    return true;
  }
  if (!probe.IsScalar() || probe.Scalar() != s) return true;
  json back = ScalarToJson(probe);
  return !back.is_string();
}

void Emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, item] : v.items()) {
        out << YAML::Key << k << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos)
        out << YAML::Literal << s;
      else if (NeedsQuotes(s))
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case json::value_t::boolean: out << (v.get<bool>() ? "true" : "false"); break;
    case json::value_t::null: out << YAML::Null; break;
    default: out << v.dump(); break;
  }
}

}  // namespace

std::vector<json> ParseYamlDocuments(const std::string& text, const std::string& origin) {
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    throw Error(fmt::format("{} line {}, column {}: not valid YAML: {}", origin, e.mark.line + 1, e.mark.column + 1,
                            e.msg));
  }
  std::vector<json> docs;
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;  // "---" at the end, or an empty document
    docs.push_back(NodeToJson(node, origin));
  }
  return docs;
}

std::string ToYaml(const json& value) {
  YAML::Emitter out;
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace pgvault
