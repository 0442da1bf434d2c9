// Sealed JSON documents, range-checked integers, index file names and the
// backup history: the checks every repository reader relies on (issue 14).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "pg/lsn.h"
#include "pg/wal_segment_size.h"
#include "repo/backup_history.h"
#include "repo/chunk_index.h"
#include "repo/json_number.h"
#include "repo/pack_format.h"
#include "repo/sealed_json.h"

using namespace pgvault;
using nlohmann::json;

namespace {
std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(SealedJson, AnyChangedValueIsFoundButLayoutIsFree) {
  json doc = {{"format", "x"}, {"n", 12}, {"d", 0.1}, {"s", "CHECKPOINT LOCATION: 0/2000060"}};
  std::string sealed = SealJson(doc);
  EXPECT_EQ(UnsealJson(sealed, "m"), doc);
  // Re-indented, keys reordered: the same document.
  json reread = json::parse(sealed);
  EXPECT_EQ(UnsealJson(reread.dump(), "m"), doc);
  // Every single-character change of a value is found.
  for (const char* from : {": 12", ": 0.1", ": 0/2000060"}) {
    std::string edited = sealed;
    ASSERT_NE(edited.find(from), std::string::npos);
    size_t at = edited.find(from) + std::string(from).size() - 1;  // its last digit
    edited[at] = edited[at] == '9' ? '8' : static_cast<char>(edited[at] + 1);
    EXPECT_NE(ErrorOf([&] { UnsealJson(edited, "m.json"); }).find("m.json is damaged (checksum mismatch)"),
              std::string::npos)
        << from;
  }
  json unsealed = json::parse(sealed);
  unsealed.erase("checksum");
  EXPECT_NE(ErrorOf([&] { UnsealJson(unsealed.dump(), "m.json"); }).find("has no checksum"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { UnsealJson("[1,2]", "m.json"); }).find("not a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { UnsealJson("{", "m.json"); }).find("m.json is damaged"), std::string::npos);
}

TEST(JsonInteger, RefusesWhatDoesNotFit) {
  EXPECT_EQ(JsonInteger<uint32_t>(json(4294967295u), "n", "w"), 4294967295u);
  EXPECT_EQ(JsonInteger<int64_t>(json(-5), "n", "w"), -5);
  for (const json& bad : {json(-1), json(4294967296ull), json(1e30), json(1.5), json("7"), json(nullptr)})
    EXPECT_NE(ErrorOf([&] { JsonInteger<uint32_t>(bad, "timeline", "m.json"); })
                  .find("m.json is damaged: timeline " + bad.dump() + " is not a valid unsigned integer"),
              std::string::npos)
        << bad;
  EXPECT_NE(ErrorOf([&] { JsonInteger<uint32_t>(json::object(), "size", "m.json", nullptr); }).find("no \"size\""),
            std::string::npos);
}

TEST(WalSegmentSize, OnlyWhatInitdbAllowsAndNoDivisionByZero) {
  for (uint64_t ok : {1ull << 20, 16ull << 20, 1ull << 30}) EXPECT_TRUE(IsValidWalSegmentSize(ok)) << ok;
  for (uint64_t bad : {0ull, 1ull, 8192ull, 3ull << 20, 2ull << 30}) EXPECT_FALSE(IsValidWalSegmentSize(bad)) << bad;
  EXPECT_THROW(WalSegmentName(1, 5, 0), Error);
  EXPECT_THROW(SegmentNumber(100, 0), Error);
  EXPECT_THROW(ParseWalSegmentName("000000010000000000000001", 0), Error);
  EXPECT_EQ(WalSegmentName(1, 5, 16u << 20), "000000010000000000000005");
}

TEST(IndexFileName, IsTheStoredBytesHashAndPackPathsAreStrict) {
  EXPECT_EQ(IndexFileName("abc"), "index/ba7816bf8f01cfea414140de5dae2223.json.zst");
  EXPECT_TRUE(IsPackPath("packs/9a/9ac255f2dd6bd841b83314dd55e9690e.pack"));
  for (const char* bad : {"packs/9b/9ac255f2dd6bd841b83314dd55e9690e.pack", "packs/9a/../../../../etc/passwd.pack",
                          "packs/9a/9AC255F2DD6BD841B83314DD55E9690E.pack", "/packs/9a/9ac255f2dd6bd841b83314dd55e9690e.pack",
                          "packs/9a/9ac255f2dd6bd841b83314dd55e9690e.pac"})
    EXPECT_FALSE(IsPackPath(bad)) << bad;
}

TEST(BackupHistory, RoundTripsAndRefusesDamage) {
  BackupHistory h;
  h.Put({"20261204T100000F", "2026-12-04T10:00:00.000Z", "2026-12-04T10:00:05.000Z", "0/3000100", 1, "ab"});
  h.Put({"20261203T100000F", "2026-12-03T10:00:00.000Z", "2026-12-03T10:00:05.000Z", "0/2000100", 1, "cd"});
  std::string text = h.ToText();
  BackupHistory back = BackupHistory::FromText(text, "history.json");
  ASSERT_EQ(back.backups.size(), 2u);
  EXPECT_EQ(back.backups[0].id, "20261203T100000F");  // by id
  EXPECT_EQ(back.Find("20261204T100000F")->stop_lsn, "0/3000100");
  back.Remove("20261204T100000F");
  EXPECT_EQ(back.Find("20261204T100000F"), nullptr);
  std::string edited = text;
  edited.replace(edited.find("0/3000100"), 9, "0/3000200");
  EXPECT_NE(ErrorOf([&] { BackupHistory::FromText(edited, "history.json"); }).find("checksum mismatch"),
            std::string::npos);
  json newer = json::parse(text);
  newer["version"] = 99;
  EXPECT_NE(ErrorOf([&] { BackupHistory::FromText(newer.dump(), "history.json"); }).find("upgrade pgvault"),
            std::string::npos);
}
