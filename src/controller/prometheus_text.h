// PrometheusText: builds a scrape in the Prometheus text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Only what the controller needs: gauges and counters, labels, no
// timestamps, no histograms. A family's HELP and TYPE lines are written once,
// followed by all of its samples, even when the caller adds samples to it at
// different times; families come out in the order they were declared, samples
// and labels in the order they were added, so the output is deterministic.
//
//   PrometheusText text;
//   text.Declare("pgvault_backup_last_success_timestamp_seconds", MetricType::kGauge,
//                "Unix time of the last successful backup.");
//   text.Add("pgvault_backup_last_success_timestamp_seconds", {{"cluster", "main"}}, 1.7e9);
//   std::string body = text.Render();
//
// Mistakes that would make Prometheus reject the whole scrape (invalid names,
// a sample of an undeclared family, the same series twice, a negative
// counter) throw pgvault::Error, so they show up in tests and as a 500 with
// the reason rather than as a silently empty target.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgvault {

enum class MetricType { kGauge, kCounter };

// Label name/value pairs, rendered in the order given.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// The Content-Type of a response whose body is Render()'s output.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

class PrometheusText {
 public:
  // Declares a family. Declaring it again with the same type and help does
  // nothing (so code can declare next to where it adds samples); a different
  // type or help throws. An empty help omits the HELP line.
  void Declare(std::string_view name, MetricType type, std::string_view help);

  // Adds a sample to a declared family. Label names must be valid and not
  // start with "__" (reserved by Prometheus); values may hold any text.
  // Counters take no negative values (NaN is allowed: "unknown").
  void Add(std::string_view name, const MetricLabels& labels, double value);
  void Add(std::string_view name, double value) { Add(name, {}, value); }

  // Every family with its samples; a declared family without samples still
  // gets its HELP and TYPE lines, which Prometheus accepts.
  std::string Render() const;

 private:
  struct Family {
    std::string name;
    MetricType type;
    std::string help;
    std::vector<std::string> lines;      // rendered samples, in order of Add
    std::set<std::string> label_sets;    // rendered "{...}" seen, to refuse duplicates
  };
  std::vector<Family> families_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in families_
};

// The pieces, exposed for tests and for callers that write their own lines.
bool IsValidMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidLabelName(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*
// Backslash, double quote and newline escaped; invalid UTF-8 (which
// Prometheus refuses in label values) replaced by U+FFFD.
std::string EscapeLabelValue(std::string_view value);
// Backslash and newline escaped; invalid UTF-8 replaced by U+FFFD.
std::string EscapeHelp(std::string_view help);
// "NaN", "+Inf", "-Inf"; integral values as plain integers ("42", not
// "4.2e+01"); others in the shortest form that reads back to the same double.
std::string FormatMetricValue(double value);

}  // namespace pgvault
