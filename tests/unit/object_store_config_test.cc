// Repository URLs, the credentials file, storage settings, the XML replies
// and the retry policy of the object-store backends.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/object_store_location.h"
#include "storage/retry_policy.h"
#include "storage/storage_settings.h"
#include "storage/xml_reader.h"

using namespace pgvault;

TEST(ObjectStoreLocation, LocalPathsAreNotUrls) {
  EXPECT_FALSE(ParseObjectStoreLocation("/var/lib/pgvault/repo"));
  EXPECT_FALSE(ParseObjectStoreLocation("relative/repo"));
}

TEST(ObjectStoreLocation, EveryUrlForm) {
  auto s3 = ParseObjectStoreLocation("s3://backups/prod/db1/");
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->kind, ObjectStoreKind::kS3);
  EXPECT_EQ(s3->bucket, "backups");
  EXPECT_EQ(s3->prefix, "prod/db1");
  EXPECT_EQ(s3->url, "s3://backups/prod/db1");

  auto root = ParseObjectStoreLocation("s3://backups");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->prefix, "");

  auto gs = ParseObjectStoreLocation("gs://gbucket/x");
  ASSERT_TRUE(gs);
  EXPECT_EQ(gs->kind, ObjectStoreKind::kGcs);

  auto azure = ParseObjectStoreLocation("azure://container/a/b");
  ASSERT_TRUE(azure);
  EXPECT_EQ(azure->kind, ObjectStoreKind::kAzure);
  EXPECT_EQ(azure->bucket, "container");
  EXPECT_EQ(azure->prefix, "a/b");
  EXPECT_EQ(azure->azure_account, "");

  auto https = ParseObjectStoreLocation("https://myaccount.blob.core.windows.net/pgbackups/prod");
  ASSERT_TRUE(https);
  EXPECT_EQ(https->kind, ObjectStoreKind::kAzure);
  EXPECT_EQ(https->azure_account, "myaccount");
  EXPECT_EQ(https->azure_endpoint, "https://myaccount.blob.core.windows.net");
  EXPECT_EQ(https->bucket, "pgbackups");
  EXPECT_EQ(https->prefix, "prod");
}

TEST(ObjectStoreLocation, MistakesAreNamed) {
  auto message = [](const std::string& url) {
    try {
      ParseObjectStoreLocation(url);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("ftp://host/x").find("unknown scheme 'ftp://'"), std::string::npos);
  EXPECT_NE(message("s3:///prefix").find("names no bucket"), std::string::npos);
  EXPECT_NE(message("s3://Bad_Bucket/x").find("not a valid bucket"), std::string::npos);
  EXPECT_NE(message("s3://b/a/../c").find("'..'"), std::string::npos);
  EXPECT_NE(message("s3://b/a//c").find("empty path segment"), std::string::npos);
  EXPECT_NE(message("https://minio.example.com/b").find("--s3-endpoint"), std::string::npos);
}

TEST(CredentialsFile, ParsesNamesValuesQuotesAndComments) {
  auto values = CredentialSource::ParseFile(
      "# test\nAWS_ACCESS_KEY_ID=AKID\nexport AWS_SECRET_ACCESS_KEY = \"se=cret\"\n\nAWS_REGION='eu-west-1'\n", "f");
  EXPECT_EQ(values.at("AWS_ACCESS_KEY_ID"), "AKID");
  EXPECT_EQ(values.at("AWS_SECRET_ACCESS_KEY"), "se=cret");
  EXPECT_EQ(values.at("AWS_REGION"), "eu-west-1");
}

TEST(CredentialsFile, UnknownNamesAndBadLinesAreRefusedWithoutEchoingValues) {
  try {
    CredentialSource::ParseFile("AWS_SECRET_ACESS_KEY=topsecret\n", "/etc/pgvault/creds");
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("/etc/pgvault/creds line 1: unknown name 'AWS_SECRET_ACESS_KEY'"), std::string::npos) << m;
    EXPECT_EQ(m.find("topsecret"), std::string::npos) << m;
  }
  EXPECT_THROW(CredentialSource::ParseFile("just a line\n", "f"), Error);
}

TEST(StorageSettings, ReadFromTheSourceAndValidated) {
  CredentialSource source({{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"},
                           {"PGVAULT_S3_URI_STYLE", "path"},
                           {"AWS_DEFAULT_REGION", "eu-central-1"},
                           {"PGVAULT_REPO_VERIFY_TLS", "n"}});
  StorageSettings s = StorageSettings::FromEnvironment(source);
  EXPECT_EQ(s.s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(s.s3_uri_style, "path");
  EXPECT_EQ(s.s3_region, "eu-central-1");
  EXPECT_FALSE(s.verify_tls);
  std::vector<std::string> args = s.ToArguments();
  std::vector<std::string> expected = {"--s3-endpoint", "http://127.0.0.1:9000", "--s3-uri-style", "path",
                                       "--s3-region",   "eu-central-1",          "--repo-no-verify-tls"};
  EXPECT_EQ(args, expected);
  EXPECT_THROW(StorageSettings::FromEnvironment(CredentialSource(std::map<std::string, std::string>{{"PGVAULT_S3_URI_STYLE", "virtual"}})), UsageError);
  EXPECT_THROW(StorageSettings::FromEnvironment(CredentialSource(std::map<std::string, std::string>{{"AWS_ENDPOINT_URL", "127.0.0.1:9000"}})),
               UsageError);
  EXPECT_THROW(StorageSettings::FromEnvironment(CredentialSource(std::map<std::string, std::string>{{"PGVAULT_S3_SSE", "des"}})), UsageError);
}

TEST(XmlReader, ListBucketResult) {
  std::string xml =
      "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a/b&amp;c</Key><Size>12</Size></Contents><Contents><Key>a/d</Key><Size>0</Size></Contents>"
      "<NextContinuationToken>tok&lt;1&gt;</NextContinuationToken></ListBucketResult>";
  auto contents = XmlElements(xml, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(XmlFirst(contents[0], "Key"), "a/b&c");
  EXPECT_EQ(XmlFirst(contents[1], "Size"), "0");
  EXPECT_EQ(XmlFirst(xml, "NextContinuationToken"), "tok<1>");
  EXPECT_FALSE(XmlFirst(xml, "Missing"));
}

TEST(XmlReader, ElementNamesMustMatchExactly) {
  std::string xml = "<EnumerationResults><Blobs><Blob><Name>x</Name></Blob><Blob><Name>y&#233;</Name></Blob></Blobs>"
                    "<NextMarker/></EnumerationResults>";
  auto blobs = XmlElements(xml, "Blob");
  ASSERT_EQ(blobs.size(), 2u);
  EXPECT_EQ(XmlFirst(blobs[1], "Name"), "y\xC3\xA9");
  EXPECT_EQ(XmlFirst(xml, "NextMarker"), "");
}

TEST(RetryPolicy, BackoffGrowsUpToTheCapWithJitter) {
  RetryPolicy policy;
  for (int attempt = 1; attempt < 30; ++attempt) {
    auto delay = BackoffDelay(policy, attempt);
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay.count(), std::min<long long>(policy.cap.count(), policy.base.count() << std::min(attempt, 20)));
  }
  EXPECT_TRUE(IsRetryableStatus(503));
  EXPECT_TRUE(IsRetryableStatus(429));
  EXPECT_FALSE(IsRetryableStatus(403));
  EXPECT_FALSE(IsRetryableStatus(404));
}

TEST(SecretsStayOutOfMessages, AMalformedCredentialsLineOrASasInTheUrl) {
  try {
    CredentialSource::ParseFile("AZURE_STORAGE_KEY: Eby8vdM02xNOcqFl==\n", "creds.env");
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("creds.env line 1: expected NAME=value"), std::string::npos) << m;
    EXPECT_EQ(m.find("Eby8"), std::string::npos) << m;
  }
  for (const char* url : {"https://acct.blob.core.windows.net/cont/db1?sv=2021&sig=TOPSECRET",
                          "azure://cont/db1?sig=TOPSECRET", "s3://AKID:TOPSECRET@bucket/x"}) {
    try {
      ParseObjectStoreLocation(url);
      FAIL() << url;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).find("TOPSECRET"), std::string::npos) << e.what();
    }
  }
}

TEST(CredentialSource, OptionThenFileThenEnvironment) {
  std::string path = ::testing::TempDir() + "/pgvault-creds-precedence";
  {
    std::ofstream(path) << "AWS_ENDPOINT_URL=http://file:1\nAWS_REGION=file-region\n";
  }
  ::setenv("PGVAULT_REPO_CREDENTIALS", path.c_str(), 1);
  ::setenv("AWS_ENDPOINT_URL", "http://environment:1", 1);
  ::setenv("AWS_DEFAULT_REGION", "environment-region", 1);
  ::setenv("PGVAULT_CLI_AWS_ENDPOINT_URL", "http://option:1", 1);
  CredentialSource with_option = CredentialSource::FromEnvironment();
  EXPECT_EQ(with_option.Get("AWS_ENDPOINT_URL"), "http://option:1");
  EXPECT_EQ(with_option.Get("AWS_REGION"), "file-region");
  EXPECT_EQ(with_option.Get("AWS_DEFAULT_REGION"), "environment-region");
  ::unsetenv("PGVAULT_CLI_AWS_ENDPOINT_URL");
  EXPECT_EQ(CredentialSource::FromEnvironment().Get("AWS_ENDPOINT_URL"), "http://file:1");
  ::unsetenv("PGVAULT_REPO_CREDENTIALS");
  EXPECT_EQ(CredentialSource::FromEnvironment().Get("AWS_ENDPOINT_URL"), "http://environment:1");
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AWS_DEFAULT_REGION");
  std::remove(path.c_str());
}
