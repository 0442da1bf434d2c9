// Smoke test of the object-store servers and the fault proxy the storage
// backend tests run on (tests/support/object_store_server.h): each server
// starts, takes a bucket or container and an object, and answers through a
// FaultProxy that fails everything at rate 1 and nothing at rate 0.
#include <gtest/gtest.h>

#include <chrono>

#include "support/object_store_server.h"
#include "support/subprocess.h"

namespace pgvault::test {
namespace {

#define SKIP_UNLESS_AVAILABLE(check) \
  if (auto why = check()) GTEST_SKIP() << "SKIPPED (object-store servers): " << *why

// Through a proxy: every request fails at rate 1, none at rate 0 (and a
// SigV4 signature made for the proxy's address is still valid upstream).
void ExpectProxyFailsThenForwards(const S3Server& s3, const std::string& bucket) {
  FaultProxy proxy(s3.endpoint(), 1.0);
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = s3.Request("GET", "/" + bucket + "/dir/a.txt", "", proxy.endpoint());
    EXPECT_FALSE(r.ok()) << r.status << " " << r.body;
  }
  EXPECT_EQ(proxy.faults_injected(), 3) << proxy.Log();
  EXPECT_EQ(proxy.fault_counts().count("delay"), 0u) << "no delays at rate 1";

  proxy.SetFailureRate(0);
  HttpResponse put = s3.Request("PUT", "/" + bucket + "/via-proxy", "through the proxy", proxy.endpoint());
  EXPECT_TRUE(put.ok()) << put.status << " " << put.body << put.curl_error;
  HttpResponse get = s3.Request("GET", "/" + bucket + "/via-proxy", "", proxy.endpoint());
  EXPECT_EQ(get.status, 200) << get.body << get.curl_error;
  EXPECT_EQ(get.body, "through the proxy");
  HttpResponse head = s3.Request("HEAD", "/" + bucket + "/via-proxy", "", proxy.endpoint());
  EXPECT_EQ(head.status, 200) << head.body;
  EXPECT_EQ(proxy.faults_injected(), 3) << proxy.Log();
  EXPECT_EQ(proxy.requests(), 6);
}

TEST(ObjectStoreServers, SwiftS3) {
  SKIP_UNLESS_AVAILABLE(SwiftUnavailable);
  auto start = std::chrono::steady_clock::now();
  SwiftS3Server swift;
  std::cerr << "swift started in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
            << " ms at " << swift.endpoint() << "\n";
  swift.CreateBucket("smoke");
  swift.PutObject("smoke", "dir/a.txt", "hello swift");
  EXPECT_EQ(swift.GetObject("smoke", "dir/a.txt"), "hello swift");

  std::string stored = swift.ObjectDataPath("smoke", "dir/a.txt");
  ASSERT_FALSE(stored.empty());
  auto copies = FindStoredBytes(swift.data_dir(), "hello swift");
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].path, stored);

  // Swift verifies signatures (curl's --user splits "test:tester" at the
  // first colon: the access key goes in the URL)
  RunResult wrong = test::Run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                         "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                         "http://test%3Atester:wrong@" + swift.endpoint().substr(7) + "/smoke/dir/a.txt"});
  EXPECT_EQ(wrong.out, "403");

  ExpectProxyFailsThenForwards(swift, "smoke");
}

TEST(ObjectStoreServers, S3rver) {
  SKIP_UNLESS_AVAILABLE(S3rverUnavailable);
  auto start = std::chrono::steady_clock::now();
  S3rverServer s3rver;
  std::cerr << "s3rver started in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
            << " ms at " << s3rver.endpoint() << "\n";
  s3rver.CreateBucket("smoke");
  s3rver.PutObject("smoke", "dir/a.txt", "hello s3rver");
  s3rver.PutObject("smoke", "dir/b.txt", "b");
  EXPECT_EQ(s3rver.GetObject("smoke", "dir/a.txt"), "hello s3rver");

  std::string stored = s3rver.ObjectDataPath("smoke", "dir/a.txt");
  ASSERT_FALSE(stored.empty());
  FlipByte(stored, 0);
  EXPECT_EQ(s3rver.GetObject("smoke", "dir/a.txt"), std::string(1, static_cast<char>(~'h')) + "ello s3rver");

  // a truncated ListObjectsV2 needs the OpenSSL legacy provider (DES tokens)
  HttpResponse list = s3rver.Request("GET", "/smoke?list-type=2&max-keys=1");
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("<IsTruncated>true</IsTruncated>"), std::string::npos) << list.body;

  ExpectProxyFailsThenForwards(s3rver, "smoke");

  // a reset after forwarding: the client sees no answer, the server did the work
  FaultProxy resets(s3rver.endpoint(), 1.0, 3, 7, {"reset-after-forward"});
  HttpResponse put = s3rver.Request("PUT", "/smoke/reset", "stored anyway", resets.endpoint());
  EXPECT_EQ(put.status, 0) << put.body;
  EXPECT_EQ(s3rver.GetObject("smoke", "reset"), "stored anyway");

  // delays only: the answer comes, late; a 2 MiB body goes through Expect: 100-continue
  FaultProxy delays(s3rver.endpoint(), 1.0, 1, std::nullopt, {"delay"});
  std::string big(2 << 20, 'x');
  auto before = std::chrono::steady_clock::now();
  HttpResponse slow = s3rver.Request("PUT", "/smoke/big", big, delays.endpoint());
  EXPECT_EQ(slow.status, 200) << slow.body << slow.curl_error;
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
  EXPECT_EQ(delays.fault_counts()["delay"], 1) << delays.Log();
  EXPECT_EQ(s3rver.GetObject("smoke", "big"), big);
}

TEST(ObjectStoreServers, Azurite) {
  SKIP_UNLESS_AVAILABLE(AzuriteUnavailable);
  auto start = std::chrono::steady_clock::now();
  AzuriteServer azurite;
  std::cerr << "azurite started in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
            << " ms at " << azurite.blob_endpoint() << "\n";
  EXPECT_EQ(azurite.connection_string(),
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + azurite.key() +
                ";BlobEndpoint=" + azurite.blob_endpoint() + ";");
  azurite.CreateContainer("smoke");
  azurite.PutBlob("smoke", "dir/a.txt", "hello azurite");
  EXPECT_EQ(azurite.GetBlob("smoke", "dir/a.txt"), "hello azurite");
  EXPECT_FALSE(FindStoredBytes(azurite.data_dir(), "hello azurite").empty());

  // SharedKey is verified
  std::string wrong_key = "AAAA" + azurite.key().substr(4);
  EXPECT_EQ(azurite.Request("GET", "/smoke/dir/a.txt", "", "", wrong_key).status, 403);

  FaultProxy proxy(azurite.blob_endpoint(), 1.0);
  EXPECT_EQ(proxy.endpoint(), "http://127.0.0.1:" + std::to_string(proxy.port()) + "/devstoreaccount1");
  HttpResponse failed = azurite.Request("GET", "/smoke/dir/a.txt", "", proxy.endpoint());
  EXPECT_FALSE(failed.ok()) << failed.body;
  EXPECT_EQ(proxy.faults_injected(), 1) << proxy.Log();
  proxy.SetFailureRate(0);
  azurite.Request("PUT", "/smoke/via-proxy", "through the proxy", proxy.endpoint());
  HttpResponse get = azurite.Request("GET", "/smoke/via-proxy", "", proxy.endpoint());
  EXPECT_EQ(get.status, 200) << get.body << get.curl_error;
  EXPECT_EQ(get.body, "through the proxy");
  EXPECT_EQ(proxy.faults_injected(), 1) << proxy.Log();
}

}  // namespace
}  // namespace pgvault::test
