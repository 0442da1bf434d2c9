// Regression tests for inputs the fuzz/ targets found: a parser of untrusted
// bytes refuses them with pgvault::Error (naming the input), never with
// another exception that would end the process.
#include <gtest/gtest.h>

#include "compress/codec.h"
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

// fuzz/chunk_fuzzer: an empty stored chunk (codec none, raw size 0) into an
// empty buffer memcpy'd from/to null pointers, which UBSan (scripts/sanitize)
// reports as undefined behaviour.
TEST(ParserRobustness, AnEmptyUncompressedChunkDecodesIntoAnEmptyBuffer) {
  DecompressInto(Codec::kNone, std::string_view(), 0, nullptr);
  EXPECT_THROW(DecompressInto(Codec::kNone, std::string_view("x"), 0, nullptr), IntegrityError);
}

}  // namespace
}  // namespace pgvault
