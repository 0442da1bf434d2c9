// Endpoint URLs with user info ("http://KEY:SECRET@host") are refused in every
// endpoint setting, and no message quotes the secret: --s3-endpoint and
// AWS_ENDPOINT_URL (from the options, the credentials file or the
// environment, all read through CredentialSource), an Azure connection
// string's BlobEndpoint and the endpoint its AccountName makes, and any
// endpoint taken apart for a request (SplitEndpoint, which makes the Host
// header).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>

#include "core/error.h"
#include "storage/azure_blob_store.h"
#include "storage/azure_shared_key.h"
#include "storage/endpoint_url.h"
#include "storage/http_client.h"
#include "storage/object_store_location.h"
#include "storage/storage_settings.h"

namespace pgvault {
namespace {

const std::string kSecret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";

std::string UsageMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

StorageSettings SettingsWithEndpoint(const std::string& endpoint) {
  return StorageSettings::FromEnvironment(CredentialSource(std::map<std::string, std::string>{
      {"AWS_ENDPOINT_URL", endpoint}}));
}

TEST(EndpointUrl, UserInfoInTheS3EndpointIsRefusedWithoutTheSecret) {
  for (const std::string& endpoint :
       {"http://AKIAKEYID:" + kSecret + "@127.0.0.1:9000", "https://AKIAKEYID:" + kSecret + "@minio.example/base/",
        "http://" + kSecret + "@127.0.0.1:9000", "AKIAKEYID:" + kSecret + "@127.0.0.1:9000",
        "http://user:p@ss:" + kSecret + "@127.0.0.1:9000"}) {
    std::string m = UsageMessage([&] { SettingsWithEndpoint(endpoint); });
    EXPECT_NE(m.find("credentials in the endpoint URL are not allowed"), std::string::npos) << endpoint << ": " << m;
    EXPECT_NE(m.find("--s3-endpoint"), std::string::npos) << m;
    EXPECT_NE(m.find("credentials file"), std::string::npos) << m;
    EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
    EXPECT_EQ(m.find("AKIAKEYID"), std::string::npos) << m;
    EXPECT_EQ(m.find("p@ss"), std::string::npos) << m;
  }
  EXPECT_NE(UsageMessage([] { SettingsWithEndpoint("http://K:S@127.0.0.1:9000/"); }).find("'http://***@127.0.0.1:9000/'"),
            std::string::npos);
}

TEST(EndpointUrl, AQueryInTheEndpointIsRefusedWithoutIt) {
  std::string m = UsageMessage([] { SettingsWithEndpoint("http://127.0.0.1:9000/?X-Amz-Signature=" + kSecret); });
  EXPECT_NE(m.find("query"), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
}

TEST(EndpointUrl, PlainEndpointsStillWork) {
  EXPECT_EQ(SettingsWithEndpoint("http://127.0.0.1:9000/").s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(SettingsWithEndpoint("https://minio.example/base").s3_endpoint, "https://minio.example/base");
  // '@' in the path is no user info.
  EXPECT_EQ(SettingsWithEndpoint("https://minio.example/a@b").s3_endpoint, "https://minio.example/a@b");
  EXPECT_EQ(SettingsWithEndpoint("").s3_endpoint, "");
  EXPECT_NE(UsageMessage([] { SettingsWithEndpoint("127.0.0.1:9000"); }).find("must start with http"),
            std::string::npos);
}

TEST(EndpointUrl, UserInfoInAnAzureEndpointIsRefusedWithoutTheSecret) {
  std::string m = UsageMessage([] {
    ParseAzureConnectionString("AccountName=acct;AccountKey=a2V5;BlobEndpoint=https://acct:" + kSecret +
                               "@acct.blob.core.windows.net");
  });
  EXPECT_NE(m.find("credentials in the endpoint URL are not allowed"), std::string::npos) << m;
  EXPECT_NE(m.find("BlobEndpoint"), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
  // The endpoint an AccountName makes is checked the same way.
  m = UsageMessage([] { ParseAzureConnectionString("AccountName=acct:" + kSecret + "@evil.example;AccountKey=a2V5"); });
  EXPECT_NE(m.find("credentials in the endpoint URL are not allowed"), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
  // So is the one AZURE_STORAGE_ACCOUNT makes.
  m = UsageMessage([] {
    OpenAzureBlobStore(*ParseObjectStoreLocation("azure://container"), StorageSettings{},
                       CredentialSource(std::map<std::string, std::string>{
                           {"AZURE_STORAGE_ACCOUNT", "acct:" + kSecret + "@evil.example"},
                           {"AZURE_STORAGE_KEY", "a2V5"}}));
  });
  EXPECT_NE(m.find("credentials in the endpoint URL are not allowed"), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
  // Plain ones still work.
  EXPECT_EQ(ParseAzureConnectionString("AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/acct/")
                .blob_endpoint,
            "http://127.0.0.1:10000/acct");
}

TEST(EndpointUrl, NoRequestIsMadeForAnEndpointWithUserInfo) {
  // The authority becomes the Host header.
  std::string m = UsageMessage([] { SplitEndpoint("http://KEY:" + kSecret + "@127.0.0.1:9000/base"); });
  EXPECT_NE(m.find("credentials in the endpoint URL are not allowed"), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
  EndpointParts parts = SplitEndpoint("http://127.0.0.1:9000/base/");
  EXPECT_EQ(parts.authority, "127.0.0.1:9000");
  EXPECT_EQ(parts.path, "/base");
}

TEST(EndpointUrl, RedactedKeepsOnlyWhatIsNotSecret) {
  EXPECT_EQ(RedactedEndpointUrl("https://k:s@host:1/p?sig=x#f"), "https://***@host:1/p");
  EXPECT_EQ(RedactedEndpointUrl("k:s@host"), "***@host");
  EXPECT_EQ(RedactedEndpointUrl("https://host/p"), "https://host/p");
}

}  // namespace
}  // namespace pgvault
