#include "api/yaml_json.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <sstream>

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

// The YAML node graph to JSON, counting what it builds against the limits
// (ParseYamlDocuments() says why): an alias is walked again at each use, as
// the copy JSON makes of it.
class Converter {
 public:
  Converter(const std::string& origin, const YamlLimits& limits) : origin_(origin), limits_(limits) {}

  json Convert(const YAML::Node& node, size_t depth) {
    if (++values_ > limits_.max_values)
      Refuse(node, fmt::format("it expands to more than {} values (maps, lists and scalars, an alias counting as a "
                               "copy of what it names)",
                               limits_.max_values));
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined: return nullptr;
      case YAML::NodeType::Scalar:
        text_bytes_ += node.Scalar().size();
        if (text_bytes_ > limits_.max_text_bytes)
          Refuse(node, fmt::format("it expands to more than {} of text (an aliased value counting at each use)",
                                   FormatSize(limits_.max_text_bytes)));
        return ScalarToJson(node);
      case YAML::NodeType::Sequence: {
        CheckDepth(node, depth);
        json out = json::array();
        for (const auto& item : node) out.push_back(Convert(item, depth + 1));
        return out;
      }
      case YAML::NodeType::Map: {
        CheckDepth(node, depth);
        json out = json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar())
            throw Error(
                fmt::format("{} line {}: a mapping key must be a plain value", origin_, kv.first.Mark().line + 1));
          const std::string key = kv.first.Scalar();
          if (out.contains(key))
            throw Error(fmt::format("{} line {}: key '{}' appears twice", origin_, kv.first.Mark().line + 1, key));
          text_bytes_ += key.size();
          out[key] = Convert(kv.second, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  void CheckDepth(const YAML::Node& node, size_t depth) {
    if (depth >= limits_.max_depth)
      Refuse(node, fmt::format("maps and lists nest more than {} deep (or an alias is used inside its own anchor)",
                               limits_.max_depth));
  }
  [[noreturn]] void Refuse(const YAML::Node& node, const std::string& what) const {
    throw Error(fmt::format("{} line {}: refused: {}; no manifest needs that much: is this file what you meant "
                                 "to give?",
                                 origin_, node.Mark().line + 1, what));
  }
  static std::string FormatSize(size_t bytes) { return fmt::format("{} MiB", bytes >> 20); }

  const std::string& origin_;
  const YamlLimits& limits_;
  size_t values_ = 0;
  size_t text_bytes_ = 0;
};

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

// yaml-cpp 0.7 (Debian 12's) loops forever in LoadAll on some invalid input
// (a stream starting with ',', for one: yaml-cpp issue 1040, fixed upstream
// in 0.8 by PR 1319), allocating a null document per turn: 1 GB in a second.
// Its parser then hands out documents that all start where the last one did,
// without consuming anything. This pass walks the documents with the same
// parser, events ignored, and refuses the stream at the first one that does
// not move, before LoadAll is asked to build anything.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark start = YAML::Mark::null_mark();
};

void CheckEveryDocumentMoves(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  std::optional<int> previous;
  while (parser.HandleNextDocument(starts)) {
    if (previous && starts.start.pos == *previous)
      throw Error(fmt::format("{} line {}, column {}: not valid YAML: the parser cannot read past this point", origin,
                              starts.start.line + 1, starts.start.column + 1));
    previous = starts.start.pos;
  }
}

}  // namespace

std::vector<json> ParseYamlDocuments(const std::string& text, const std::string& origin, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw Error(fmt::format("{} is {} bytes, more than the {} MiB a manifest or cluster file may be; no manifest "
                                 "needs that much: is this file what you meant to give?",
                                 origin, text.size(), limits.max_bytes >> 20));
  std::vector<YAML::Node> nodes;
  try {
    CheckEveryDocumentMoves(text, origin);
    nodes = YAML::LoadAll(text);
  } catch (const YAML::DeepRecursion& e) {
    throw Error(fmt::format("{} line {}, column {}: refused: maps and lists nest more than {} deep", origin,
                                 e.mark.line + 1, e.mark.column + 1, limits.max_depth));
  } catch (const YAML::ParserException& e) {
    throw Error(fmt::format("{} line {}, column {}: not valid YAML: {}", origin, e.mark.line + 1, e.mark.column + 1,
                            e.msg));
  }
  // One converter for the whole stream: the limits are for the file.
  Converter converter(origin, limits);
  std::vector<json> docs;
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;  // "---" at the end, or an empty document
    docs.push_back(converter.Convert(node, 0));
  }
  return docs;
}

std::string ToYaml(const json& value) {
  YAML::Emitter out;
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace pgvault
