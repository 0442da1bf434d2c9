// Regression tests for inputs the fuzz/ targets found: a parser of untrusted
// bytes refuses them with pgvault::Error (naming the input), never with
// another exception that would end the process.
#include <gtest/gtest.h>

#include "core/error.h"
#include "repo/backup_history.h"

namespace pgvault {
namespace {

// fuzz/backup_history_fuzzer: a "format" that is a number made j.value()
// throw nlohmann's type_error outside the parser's try.
TEST(ParserRobustness, BackupHistoryWithANumericFormatIsDamage) {
  EXPECT_THROW(BackupHistory::FromText(R"({"backups": "x", "format": 2})", "history.json"), IntegrityError);
  EXPECT_THROW(BackupHistory::FromText(R"({"format": ["pgvault-backup-history"]})", "history.json"), IntegrityError);
}

}  // namespace
}  // namespace pgvault
