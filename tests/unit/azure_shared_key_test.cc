// Azure connection strings and SharedKey signatures. The expected strings to
// sign are written out by hand from Microsoft's description ("Authorize with
// Shared Key", Blob service, version 2009-09-19 and later); the expected
// signatures were computed independently (Python's hmac over the same strings).
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "crypto/base64.h"
#include "crypto/hmac.h"
#include "storage/azure_blob_store.h"
#include "storage/azure_shared_key.h"
#include "storage/object_store_location.h"
#include "storage/storage_settings.h"

using namespace pgvault;

namespace {

const std::string kKey = kAzureDevelopmentKey;
const std::string kDate = "Mon, 01 Jan 2024 00:00:00 GMT";

std::string Decoded(const std::string& key) { return Base64Decode(key, "test key"); }

// The message of the UsageError `f` throws ("" when it throws none).
template <typename F>
std::string UsageMessage(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// --- connection strings ---

TEST(AzureConnectionString, AccountKeyAndSuffixMakeTheEndpoint) {
  AzureConnection c = ParseAzureConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5a2V5==;EndpointSuffix=core.chinacloudapi.cn");
  EXPECT_EQ(c.account, "acct");
  EXPECT_EQ(c.key, "a2V5a2V5==") << "the '=' of base64 padding belongs to the value";
  EXPECT_EQ(c.blob_endpoint, "https://acct.blob.core.chinacloudapi.cn");
  EXPECT_EQ(c.sas_token, "");
}

TEST(AzureConnectionString, DefaultsToHttpsAndCoreWindowsNet) {
  AzureConnection c = ParseAzureConnectionString("AccountName=acct;AccountKey=a2V5");
  EXPECT_EQ(c.blob_endpoint, "https://acct.blob.core.windows.net");
  c = ParseAzureConnectionString("DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5");
  EXPECT_EQ(c.blob_endpoint, "http://acct.blob.core.windows.net");
}

TEST(AzureConnectionString, BlobEndpointWinsAndOtherServicesAreIgnored) {
  // What Azurite's documentation gives, with the other services' endpoints.
  AzureConnection c = ParseAzureConnectionString(
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + kKey +
      ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
      "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;");
  EXPECT_EQ(c.account, "devstoreaccount1");
  EXPECT_EQ(c.key, kKey);
  EXPECT_EQ(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
}

TEST(AzureConnectionString, DevelopmentStorage) {
  AzureConnection c = ParseAzureConnectionString("UseDevelopmentStorage=true");
  EXPECT_EQ(c.account, "devstoreaccount1");
  EXPECT_EQ(c.key, kKey);
  EXPECT_EQ(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_NE(UsageMessage([] { ParseAzureConnectionString("UseDevelopmentStorage=false"); }), "");
}

TEST(AzureConnectionString, NamesAreCaseInsensitiveAndSpacesAndEmptyPartsTolerated) {
  AzureConnection c =
      ParseAzureConnectionString(" accountname = acct ; ACCOUNTKEY=a2V5 ;; blobendpoint=https://x.example/ ;");
  EXPECT_EQ(c.account, "acct");
  EXPECT_EQ(c.key, "a2V5");
  EXPECT_EQ(c.blob_endpoint, "https://x.example");
}

TEST(AzureConnectionString, SharedAccessSignatureWithoutAccount) {
  AzureConnection c = ParseAzureConnectionString(
      "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=?sv=2021-08-06&ss=b&sig=ab%2Bc%3D");
  EXPECT_EQ(c.account, "");
  EXPECT_EQ(c.key, "");
  EXPECT_EQ(c.sas_token, "sv=2021-08-06&ss=b&sig=ab%2Bc%3D") << "leading '?' dropped, the rest as written";
  EXPECT_EQ(c.blob_endpoint, "https://acct.blob.core.windows.net");
}

TEST(AzureConnectionString, ErrorsNameTheVariableAndNeverTheSecret) {
  std::string secret = "c2VjcmV0c2VjcmV0";
  std::string m = UsageMessage([&] { ParseAzureConnectionString("AccountName=acct;" + secret); });
  EXPECT_NE(m.find("AZURE_STORAGE_CONNECTION_STRING"), std::string::npos) << m;
  EXPECT_NE(m.find("part 2"), std::string::npos) << m;
  EXPECT_EQ(m.find(secret), std::string::npos) << m;

  m = UsageMessage([] { ParseAzureConnectionString("AccountName=acct"); });
  EXPECT_NE(m.find("neither AccountKey nor SharedAccessSignature"), std::string::npos) << m;
  m = UsageMessage([&] { ParseAzureConnectionString("BlobEndpoint=https://x.example;AccountKey=" + secret); });
  EXPECT_NE(m.find("no AccountName"), std::string::npos) << m;
  EXPECT_EQ(m.find(secret), std::string::npos) << m;
  m = UsageMessage([] { ParseAzureConnectionString("AccountKey=a2V5"); });
  EXPECT_NE(m.find("neither AccountName nor BlobEndpoint"), std::string::npos) << m;
  EXPECT_NE(
      UsageMessage([] { ParseAzureConnectionString("DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=a2V5"); }),
      "");
  EXPECT_NE(UsageMessage([] { ParseAzureConnectionString("AccountName=a;AccountKey=a2V5;BlobEndpoint=x.example"); }),
            "");
  m = UsageMessage(
      [] { ParseAzureConnectionString("AccountName=a;BlobEndpoint=https://x.example/?sv=1&sig=SECRETSIG"); });
  EXPECT_EQ(m.find("SECRETSIG"), std::string::npos) << m;
  EXPECT_NE(m, "");
}

// --- the signer ---

TEST(AzureSharedKey, CanonicalizedHeadersAreLowerCasedSortedAndFolded) {
  // Content-Type is not an x-ms-* header: it has its own line in the string to sign.
  std::vector<std::pair<std::string, std::string>> headers = {{"X-MS-Version", "2021-08-06"},
                                                              {"Content-Type", "text/plain"},
                                                              {"x-ms-meta-Note", "  two   words \t here "},
                                                              {"x-ms-date", kDate},
                                                              {"x-ms-blob-type", "BlockBlob"}};
  EXPECT_EQ(SharedKeyCanonicalizedHeaders(headers),
            "x-ms-blob-type:BlockBlob\n"
            "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n"
            "x-ms-meta-note:two words here\n"
            "x-ms-version:2021-08-06\n");
}

TEST(AzureSharedKey, PutBlobStringToSignAndSignature) {
  SharedKeyRequest r;
  r.method = "PUT";
  r.account = "myaccount";
  r.path = "/mycontainer/dir/my%20blob.txt";
  r.headers = {{"x-ms-blob-type", "BlockBlob"},
               {"Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="},  // md5("hello world")
               {"Content-Type", "application/octet-stream"},
               {"If-None-Match", "*"},
               {"x-ms-date", kDate},
               {"x-ms-version", "2021-08-06"},
               {"Content-Length", "11"}};
  const std::string expected =
      "PUT\n"
      "\n"                          // Content-Encoding
      "\n"                          // Content-Language
      "11\n"                        // Content-Length
      "XrY7u+Ae7tCTyyK7j1rNww==\n"  // Content-MD5
      "application/octet-stream\n"  // Content-Type
      "\n"                          // Date (x-ms-date is sent instead)
      "\n"                          // If-Modified-Since
      "\n"                          // If-Match
      "*\n"                         // If-None-Match
      "\n"                          // If-Unmodified-Since
      "\n"                          // Range
      "x-ms-blob-type:BlockBlob\n"
      "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n"
      "x-ms-version:2021-08-06\n"
      "/myaccount/mycontainer/dir/my%20blob.txt";
  std::string string_to_sign = SharedKeyStringToSign(r);
  EXPECT_EQ(string_to_sign, expected);
  EXPECT_EQ(SharedKeySignature(Decoded(kKey), string_to_sign), Base64Encode(HmacSha256(Decoded(kKey), expected)));
  EXPECT_EQ(SharedKeySignature(Decoded(kKey), string_to_sign), "wa8TwcjOusIMNmHR4CXzTdCW1yeElIuNZSqFvHUQshY=");
  EXPECT_EQ(SharedKeyAuthorization(Decoded(kKey), r),
            "SharedKey myaccount:wa8TwcjOusIMNmHR4CXzTdCW1yeElIuNZSqFvHUQshY=");
}

TEST(AzureSharedKey, ListWithQueryParameters) {
  SharedKeyRequest r;
  r.method = "GET";
  r.account = "myaccount";
  r.path = "/mycontainer";
  // Decoded values; names lower-cased and sorted; a repeated name's values
  // sorted and joined with ','.
  r.query = {{"restype", "container"}, {"Comp", "list"},         {"prefix", "pgvault/prod/"},
             {"marker", "2!96!abc"},   {"include", "snapshots"}, {"include", "metadata"}};
  r.headers = {{"x-ms-date", kDate}, {"x-ms-version", "2021-08-06"}};
  EXPECT_EQ(SharedKeyCanonicalizedResource(r.account, r.path, r.query),
            "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots\nmarker:2!96!abc\nprefix:pgvault/prod/\n"
            "restype:container");
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"  // no Content-Length on a GET: every standard header empty
      "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n"
      "x-ms-version:2021-08-06\n"
      "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots\nmarker:2!96!abc\nprefix:pgvault/prod/\n"
      "restype:container";
  EXPECT_EQ(SharedKeyStringToSign(r), expected);
  EXPECT_EQ(SharedKeySignature(Decoded(kKey), expected), "bOS+cYthVrgcHuHkkdZddZ3W8ccyipAgV86dBjoEfl8=");
}

TEST(AzureSharedKey, EmulatorPathStyleResourceAndZeroContentLength) {
  // Azurite keeps the account in the URL's path; the canonicalized resource
  // is "/ACCOUNT" followed by that path, so the account appears twice.
  SharedKeyRequest r;
  r.method = "PUT";
  r.account = "devstoreaccount1";
  r.path = "/devstoreaccount1/container/blob";
  r.headers = {{"x-ms-date", kDate}, {"x-ms-version", "2021-08-06"}, {"Content-Length", "0"}};
  EXPECT_EQ(SharedKeyCanonicalizedResource(r.account, r.path, {}), "/devstoreaccount1/devstoreaccount1/container/blob");
  const std::string expected =
      "PUT\n\n\n\n\n\n\n\n\n\n\n\n"  // Content-Length 0 is signed as empty (version 2015-02-21 and later)
      "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n"
      "x-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/container/blob";
  EXPECT_EQ(SharedKeyStringToSign(r), expected);
  EXPECT_EQ(SharedKeySignature(Decoded(kKey), expected), "CcU/M5fGyxRRILT4Dwswu3houvIpbl1rnNLbeC6VEHc=");
}

TEST(AzureSharedKey, DateIsRfc1123Gmt) {
  std::string date = AzureDateNow();
  // "Mon, 01 Jan 2024 00:00:00 GMT"
  ASSERT_EQ(date.size(), 29u) << date;
  EXPECT_EQ(date.substr(3, 2), ", ");
  EXPECT_EQ(date.substr(25), " GMT");
}

// --- which credentials the driver takes (no request is sent) ---

namespace {
ObjectStoreLocation Azure(const std::string& url) { return *ParseObjectStoreLocation(url); }
CredentialSource Credentials(std::map<std::string, std::string> values) { return CredentialSource(std::move(values)); }
}  // namespace

TEST(AzureBlobStoreCredentials, MissingCredentialsNameTheVariables) {
  std::string m = UsageMessage([] { OpenAzureBlobStore(Azure("azure://c/p"), {}, Credentials({})); });
  EXPECT_NE(m.find("AZURE_STORAGE_CONNECTION_STRING"), std::string::npos) << m;
  EXPECT_NE(m.find("AZURE_STORAGE_ACCOUNT"), std::string::npos) << m;
  EXPECT_NE(m.find("AZURE_STORAGE_KEY"), std::string::npos) << m;
  EXPECT_NE(m.find("AZURE_STORAGE_SAS_TOKEN"), std::string::npos) << m;
  // An account without a key or a SAS is not enough.
  EXPECT_NE(UsageMessage([] {
              OpenAzureBlobStore(Azure("azure://c/p"), {}, Credentials({{"AZURE_STORAGE_ACCOUNT", "acct"}}));
            }),
            "");
}

TEST(AzureBlobStoreCredentials, MalformedKeyIsNamedNotQuoted) {
  std::string bad = "not*base64!key";
  std::string m = UsageMessage([&] {
    OpenAzureBlobStore(Azure("azure://c/p"), {},
                       Credentials({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", bad}}));
  });
  EXPECT_NE(m.find("AZURE_STORAGE_KEY"), std::string::npos) << m;
  EXPECT_EQ(m.find(bad), std::string::npos) << m;
  // The right length for base64, a wrong character.
  bad = "abc*defg";
  m = UsageMessage([&] {
    OpenAzureBlobStore(Azure("azure://c/p"), {},
                       Credentials({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", bad}}));
  });
  EXPECT_NE(m.find("AZURE_STORAGE_KEY"), std::string::npos) << m;
  EXPECT_EQ(m.find(bad), std::string::npos) << m;
  // In a connection string.
  m = UsageMessage([&] {
    OpenAzureBlobStore(Azure("azure://c/p"), {},
                       Credentials({{"AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=" + bad}}));
  });
  EXPECT_NE(m.find("AccountKey in AZURE_STORAGE_CONNECTION_STRING"), std::string::npos) << m;
  EXPECT_EQ(m.find(bad), std::string::npos) << m;
}

TEST(AzureBlobStoreCredentials, DescribeNamesTheEndpoint) {
  auto store = OpenAzureBlobStore(
      Azure("azure://container/prefix"), {},
      Credentials({{"AZURE_STORAGE_CONNECTION_STRING", "AccountName=devstoreaccount1;AccountKey=" + kKey +
                                                           ";BlobEndpoint=http://127.0.0.1:56040/devstoreaccount1"}}));
  EXPECT_EQ(store->Describe(), "azure://container/prefix at http://127.0.0.1:56040/devstoreaccount1");
  store = OpenAzureBlobStore(Azure("azure://c"), {},
                             Credentials({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", kKey}}));
  EXPECT_EQ(store->Describe(), "azure://c at https://acct.blob.core.windows.net");
  // The https form names account and endpoint; a SAS alone is enough.
  store = OpenAzureBlobStore(Azure("https://acct.blob.core.windows.net/c/p"), {},
                             Credentials({{"AZURE_STORAGE_SAS_TOKEN", "?sv=1&sig=x"}}));
  EXPECT_EQ(store->Describe(), "https://acct.blob.core.windows.net/c/p at https://acct.blob.core.windows.net");
}

TEST(AzureBlobStoreCredentials, CredentialsForAnotherAccountAreRefused) {
  std::string m = UsageMessage([] {
    OpenAzureBlobStore(Azure("https://acct.blob.core.windows.net/c"), {},
                       Credentials({{"AZURE_STORAGE_ACCOUNT", "other"}, {"AZURE_STORAGE_KEY", kKey}}));
  });
  EXPECT_NE(m.find("'other'"), std::string::npos) << m;
  EXPECT_NE(m.find("'acct'"), std::string::npos) << m;
}
