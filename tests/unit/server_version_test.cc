// pg/server_version.h: the supported range, and what each major has.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "pg/server_version.h"

using namespace pgvault;

TEST(ServerVersion, EverySupportedMajorPassesAndOthersAreRefusedByNameAndRange) {
  for (int num : {140000, 140023, 150018, 160014, 170010, 180004, 189999})
    EXPECT_NO_THROW(CheckSupportedServer(ServerVersion{num}, "db:5432")) << num;
  for (int num : {90624, 100023, 110022, 120022, 130023, 190000, 200001}) {
    try {
      CheckSupportedServer(ServerVersion{num}, "db:5432");
      ADD_FAILURE() << num << " was accepted";
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("db:5432"), std::string::npos) << m;
      EXPECT_NE(m.find(ServerVersion{num}.Name()), std::string::npos) << m;
      EXPECT_NE(m.find("PostgreSQL 14 to 18"), std::string::npos) << m;
    }
  }
  EXPECT_EQ(ServerVersion{170004}.Name(), "17.4");
  EXPECT_EQ(ServerVersion{140023}.major(), 14);
}

TEST(ServerVersion, BackupFunctionsAndWalSummariesByMajor) {
  EXPECT_FALSE(ServerVersion{140023}.has_pg_backup_start()) << "14 has pg_start_backup/pg_stop_backup";
  EXPECT_TRUE(ServerVersion{150000}.has_pg_backup_start());
  EXPECT_TRUE(ServerVersion{180004}.has_pg_backup_start());
  EXPECT_FALSE(ServerVersion{160014}.has_wal_summaries());
  EXPECT_TRUE(ServerVersion{170000}.has_wal_summaries());
}
