#include "controller/prometheus_text.h"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

const char* TypeName(MetricType type) { return type == MetricType::kCounter ? "counter" : "gauge"; }

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one
// (stray continuation byte, truncated, overlong, surrogate, beyond U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t length;
  uint32_t code;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2, code = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3, code = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4, code = c & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF))) return 0;
  if (code >= 0xD800 && code <= 0xDFFF) return 0;
  return length;
}

// Escapes '\\' and '\n' (and '"' when `quote`), copying valid UTF-8 as is and
// replacing each invalid byte by U+FFFD.
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\\' || c == '\n' || (c == '"' && quote)) {
      out += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "\\\"";
      ++i;
    } else if (size_t length = Utf8SequenceLength(text, i); length > 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    }
  }
  return out;
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(IsAsciiLetter(c) || c == '_' || c == ':' || (i > 0 && IsAsciiDigit(c)))) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(IsAsciiLetter(c) || c == '_' || (i > 0 && IsAsciiDigit(c)))) return false;
  }
  return true;
}

std::string EscapeLabelValue(std::string_view value) { return Escape(value, true); }
std::string EscapeHelp(std::string_view help) { return Escape(help, false); }

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values within int64 print as integers: fmt's shortest form
  // would write 1e+06 for a million, which Prometheus reads fine but people
  // grepping a scrape do not expect. 2^63 itself is out of range, hence '<'.
  if (value == std::trunc(value) && std::fabs(value) < 9223372036854775808.0)
    return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);  // shortest round-trip form, e.g. 0.1, 1.5e+300
}

void PrometheusText::Declare(std::string_view name, MetricType type, std::string_view help) {
  if (!IsValidMetricName(name))
    throw Error(fmt::format("invalid metric name \"{}\": must match [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  if (auto it = index_.find(name); it != index_.end()) {
    const Family& family = families_[it->second];
    if (family.type != type || family.help != help)
      throw Error(fmt::format("metric {} declared twice, as {} \"{}\" and as {} \"{}\"", name, TypeName(family.type),
                              family.help, TypeName(type), help));
    return;
  }
  index_.emplace(std::string(name), families_.size());
  families_.push_back(Family{std::string(name), type, std::string(help), {}, {}});
}

void PrometheusText::Add(std::string_view name, const MetricLabels& labels, double value) {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(fmt::format("metric {} has a sample but was not declared", name));
  Family& family = families_[it->second];
  if (family.type == MetricType::kCounter && value < 0)
    throw Error(fmt::format("counter {} cannot take the negative value {}", name, FormatMetricValue(value)));

  std::string label_text;
  std::set<std::string_view> label_names;
  for (const auto& [label, label_value] : labels) {
    if (!IsValidLabelName(label) || label.starts_with("__"))
      throw Error(fmt::format("metric {}: invalid label name \"{}\": must match [a-zA-Z_][a-zA-Z0-9_]* "
                              "and not start with __",
                              name, label));
    if (!label_names.insert(label).second)
      throw Error(fmt::format("metric {}: label {} given twice in one sample", name, label));
    label_text += fmt::format("{}{}=\"{}\"", label_text.empty() ? "{" : ",", label, EscapeLabelValue(label_value));
  }
  if (!label_text.empty()) label_text += '}';
  // The same series twice makes Prometheus drop it ("duplicate sample").
  if (!family.label_sets.insert(label_text).second)
    throw Error(fmt::format("metric {}: sample {}{} added twice", name, name, label_text));
  family.lines.push_back(fmt::format("{}{} {}\n", name, label_text, FormatMetricValue(value)));
}

std::string PrometheusText::Render() const {
  std::string out;
  for (const Family& family : families_) {
    if (!family.help.empty()) out += fmt::format("# HELP {} {}\n", family.name, EscapeHelp(family.help));
    out += fmt::format("# TYPE {} {}\n", family.name, TypeName(family.type));
    for (const std::string& line : family.lines) out += line;
  }
  return out;
}

}  // namespace pgvault
