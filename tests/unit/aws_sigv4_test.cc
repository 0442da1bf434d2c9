// AWS Signature Version 4 against the published AWS test suite
// (aws-sig-v4-test-suite: service "service", region us-east-1, 2015-08-30
// 12:36:00 UTC, key AKIDEXAMPLE) and the S3 examples of the S3 API reference.
#include <gtest/gtest.h>

#include "crypto/sha256.h"
#include "storage/aws_sigv4.h"

using namespace pgvault;

namespace {

constexpr const char* kSuiteDate = "20150830T123600Z";
constexpr const char* kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const AwsCredentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

SigV4Request SuiteRequest(const std::string& method, const std::string& uri,
                          std::vector<std::pair<std::string, std::string>> query = {},
                          std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
  SigV4Request r;
  r.method = method;
  r.canonical_uri = uri;
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  for (auto& h : extra_headers) r.headers.push_back(h);
  r.payload_hash = kEmptyHash;
  return r;
}

std::string SuiteSignature(const SigV4Request& r) {
  std::string auth = SigV4Authorization(kSuiteCredentials, "us-east-1", "service", kSuiteDate, r);
  return auth.substr(auth.find("Signature=") + 10);
}

}  // namespace

TEST(AwsSigV4, GetVanilla) {
  SigV4Request r = SuiteRequest("GET", "/");
  std::string canonical = SigV4CanonicalRequest(r);
  EXPECT_EQ(canonical, std::string("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                   "host;x-amz-date\n") + kEmptyHash);
  EXPECT_EQ(SigV4StringToSign(kSuiteDate, "us-east-1", "service", canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(SigV4Authorization(kSuiteCredentials, "us-east-1", "service", kSuiteDate, r),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(AwsSigV4, PostVanilla) {
  EXPECT_EQ(SuiteSignature(SuiteRequest("POST", "/")),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(AwsSigV4, QueryParametersAreSortedByEncodedName) {
  SigV4Request r = SuiteRequest("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}});
  EXPECT_EQ(SigV4CanonicalQuery(r.query), "Param1=value1&Param2=value2");
  EXPECT_EQ(SigV4StringToSign(kSuiteDate, "us-east-1", "service", SigV4CanonicalRequest(r)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  EXPECT_EQ(SuiteSignature(r), "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(AwsSigV4, HeaderNamesAreLowerCasedAndValuesKeptAsSent) {
  SigV4Request r = SuiteRequest("POST", "/", {}, {{"My-Header1", "VALUE1"}});
  EXPECT_EQ(SigV4SignedHeaders(r), "host;my-header1;x-amz-date");
  EXPECT_EQ(SuiteSignature(r), "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d");
}

TEST(AwsSigV4, HeaderValuesAreTrimmedAndInnerSpacesCollapsed) {
  SigV4Request r = SuiteRequest("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}});
  EXPECT_NE(SigV4CanonicalRequest(r).find("my-header1:value1\nmy-header2:\"a b c\"\n"), std::string::npos);
  EXPECT_EQ(SuiteSignature(r), "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(AwsSigV4, RepeatedHeadersAreJoinedWithCommas) {
  // get-header-key-duplicate: My-Header1 sent as value2, value2, value1.
  SigV4Request r = SuiteRequest("GET", "/", {},
                                {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}});
  EXPECT_EQ(SuiteSignature(r), "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}

TEST(AwsSigV4, UnreservedCharactersInThePathStayAsTheyAre) {
  SigV4Request r = SuiteRequest("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(SuiteSignature(r), "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

// The S3 API reference's "GET Object" example (a ranged GET with an empty
// payload hash, virtual-host style).
TEST(AwsSigV4, S3GetObjectExample) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptyHash},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = kEmptyHash;
  AwsCredentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_EQ(SigV4Authorization(credentials, "us-east-1", "s3", "20130524T000000Z", r),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// The S3 API reference's "PUT Object" example: the payload hash is the body's
// SHA-256 and the key's '$' is percent-encoded in the canonical URI.
TEST(AwsSigV4, S3PutObjectExample) {
  std::string body = "Welcome to Amazon S3.";
  std::string hash = DigestHex(Sha256(body));
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r;
  r.method = "PUT";
  r.canonical_uri = "/test%24file.text";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", hash}};
  r.payload_hash = hash;
  AwsCredentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_EQ(SigV4Authorization(credentials, "us-east-1", "s3", "20130524T000000Z", r),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}
