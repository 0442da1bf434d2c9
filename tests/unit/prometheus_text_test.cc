// The text exposition format 0.0.4 as Prometheus parses it: exact output for
// a few families, escaping, values, and refusal of what would break a scrape.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "controller/prometheus_text.h"
#include "core/error.h"

using namespace pgvault;

namespace {

template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

}  // namespace

TEST(PrometheusText, FamiliesInDeclarationOrderEachOnceWithTheirSamples) {
  PrometheusText text;
  text.Declare("pgvault_backups_total", MetricType::kCounter, "Backups finished, by cluster and result.");
  text.Declare("pgvault_up", MetricType::kGauge, "1 while the controller runs.");
  text.Add("pgvault_backups_total", {{"cluster", "main"}, {"result", "success"}}, 3);
  text.Add("pgvault_up", 1);
  // Added later to the first family: still printed under its single header.
  text.Add("pgvault_backups_total", {{"result", "failure"}, {"cluster", "main"}}, 0);
  text.Declare("pgvault_backups_total", MetricType::kCounter, "Backups finished, by cluster and result.");
  EXPECT_EQ(text.Render(),
            "# HELP pgvault_backups_total Backups finished, by cluster and result.\n"
            "# TYPE pgvault_backups_total counter\n"
            "pgvault_backups_total{cluster=\"main\",result=\"success\"} 3\n"
            "pgvault_backups_total{result=\"failure\",cluster=\"main\"} 0\n"
            "# HELP pgvault_up 1 while the controller runs.\n"
            "# TYPE pgvault_up gauge\n"
            "pgvault_up 1\n");
}

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  PrometheusText text;
  text.Declare("odd", MetricType::kGauge, "back\\slash, \"quotes\" stay,\nnew line");
  text.Add("odd", {{"path", "C:\\dir\\"}, {"quote", "say \"hi\""}, {"lines", "a\nb"}, {"utf8", "café ✓"}}, 1);
  EXPECT_EQ(text.Render(),
            "# HELP odd back\\\\slash, \"quotes\" stay,\\nnew line\n"
            "# TYPE odd gauge\n"
            "odd{path=\"C:\\\\dir\\\\\",quote=\"say \\\"hi\\\"\",lines=\"a\\nb\",utf8=\"café ✓\"} 1\n");
}

TEST(PrometheusText, ReplacesInvalidUtf8WhichPrometheusRefuses) {
  EXPECT_EQ(EscapeLabelValue("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(EscapeLabelValue("\xC3"), "\xEF\xBF\xBD");                     // truncated
  EXPECT_EQ(EscapeLabelValue("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");     // overlong '/'
  EXPECT_EQ(EscapeLabelValue("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(EscapeHelp("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");
}

TEST(PrometheusText, ValuesAsPrometheusParsesThem) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(42), "42");
  EXPECT_EQ(FormatMetricValue(-7), "-7");
  EXPECT_EQ(FormatMetricValue(1e6), "1000000");
  EXPECT_EQ(FormatMetricValue(1700000000), "1700000000");
  EXPECT_EQ(FormatMetricValue(1099511627776.0), "1099511627776");  // 1 TiB in bytes
  EXPECT_EQ(FormatMetricValue(9007199254740993.0), "9007199254740992");  // nearest double
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1.5), "1.5");
  EXPECT_EQ(FormatMetricValue(1700000000.25), "1700000000.25");
  EXPECT_EQ(FormatMetricValue(1e-7), "1e-07");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");  // beyond int64: exponent form, still valid
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");

  PrometheusText text;
  text.Declare("pgvault_last_backup_seconds", MetricType::kGauge, "");
  text.Add("pgvault_last_backup_seconds", {{"cluster", "a"}}, std::nan(""));
  text.Add("pgvault_last_backup_seconds", {{"cluster", "b"}}, HUGE_VAL);
  text.Add("pgvault_last_backup_seconds", {{"cluster", "c"}}, 12.5);
  EXPECT_EQ(text.Render(),  // no HELP line when the help is empty
            "# TYPE pgvault_last_backup_seconds gauge\n"
            "pgvault_last_backup_seconds{cluster=\"a\"} NaN\n"
            "pgvault_last_backup_seconds{cluster=\"b\"} +Inf\n"
            "pgvault_last_backup_seconds{cluster=\"c\"} 12.5\n");
}

TEST(PrometheusText, DeclaredFamilyWithoutSamplesKeepsItsHeader) {
  PrometheusText text;
  text.Declare("pgvault_backup_running", MetricType::kGauge, "Backups in progress.");
  EXPECT_EQ(text.Render(), "# HELP pgvault_backup_running Backups in progress.\n# TYPE pgvault_backup_running gauge\n");
  EXPECT_EQ(PrometheusText().Render(), "");
}

TEST(PrometheusText, ValidatesNames) {
  for (const char* good : {"a", "_", ":", "pgvault_up", "job:rate5m", "A1_b2"}) EXPECT_TRUE(IsValidMetricName(good)) << good;
  for (const char* bad : {"", "1a", "a-b", "a b", "a.b", "é"}) EXPECT_FALSE(IsValidMetricName(bad)) << bad;
  EXPECT_TRUE(IsValidLabelName("cluster_2"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("2a"));

  PrometheusText text;
  EXPECT_EQ(ErrorOf([&] { text.Declare("pgvault-up", MetricType::kGauge, "x"); }),
            "invalid metric name \"pgvault-up\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  text.Declare("m", MetricType::kGauge, "x");
  EXPECT_CONTAINS(ErrorOf([&] { text.Add("m", {{"bad-label", "v"}}, 1); }), "invalid label name \"bad-label\"");
  EXPECT_CONTAINS(ErrorOf([&] { text.Add("m", {{"__name__", "v"}}, 1); }), "not start with __");
  EXPECT_CONTAINS(ErrorOf([&] { text.Add("m", {{"", "v"}}, 1); }), "invalid label name \"\"");
}

TEST(PrometheusText, RefusesWhatWouldBreakTheScrape) {
  PrometheusText text;
  text.Declare("c_total", MetricType::kCounter, "a counter");
  EXPECT_EQ(ErrorOf([&] { text.Add("undeclared", 1); }), "metric undeclared has a sample but was not declared");
  EXPECT_EQ(ErrorOf([&] { text.Declare("c_total", MetricType::kGauge, "a counter"); }),
            "metric c_total declared twice, as counter \"a counter\" and as gauge \"a counter\"");
  EXPECT_CONTAINS(ErrorOf([&] { text.Declare("c_total", MetricType::kCounter, "other help"); }), "declared twice");
  EXPECT_EQ(ErrorOf([&] { text.Add("c_total", -1); }), "counter c_total cannot take the negative value -1");
  text.Add("c_total", {{"a", "1"}}, 1);
  EXPECT_EQ(ErrorOf([&] { text.Add("c_total", {{"a", "1"}}, 2); }), "metric c_total: sample c_total{a=\"1\"} added twice");
  EXPECT_CONTAINS(ErrorOf([&] { text.Add("c_total", {{"b", "1"}, {"b", "2"}}, 1); }), "label b given twice");
  text.Add("c_total", std::nan(""));  // unknown is fine for a counter
  EXPECT_EQ(text.Render(), "# HELP c_total a counter\n# TYPE c_total counter\nc_total{a=\"1\"} 1\nc_total NaN\n");
}
