// An S3 endpoint with user info (http://KEY:SECRET@host), given as
// --s3-endpoint, as AWS_ENDPOINT_URL in the environment or in the credentials
// file, is refused by every command before any request, and the secret never
// appears in what pgvault prints, even at --log-level trace.
#include <gtest/gtest.h>

#include <fstream>

#include "support/pgvault_cli.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace pgvault::test {
namespace {

const std::string kSecret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
// Port 1 on loopback: nothing listens, so a request that went out would fail
// with a connection error quoting the endpoint.
const std::string kEndpoint = "http://AKIAKEYID:" + kSecret + "@127.0.0.1:1";

void ExpectRefusedWithoutSecret(const RunResult& r, const std::string& what) {
  EXPECT_NE(r.exit_code, 0) << what;
  EXPECT_NE(r.err.find("credentials in the endpoint URL are not allowed"), std::string::npos) << what << ": " << r.err;
  EXPECT_EQ(r.err.find(kSecret), std::string::npos) << what << ": " << r.err;
  EXPECT_EQ(r.out.find(kSecret), std::string::npos) << what << ": " << r.out;
  EXPECT_EQ(r.err.find("AKIAKEYID"), std::string::npos) << what << ": " << r.err;
}

TEST(EndpointCredentials, AnEndpointWithUserInfoIsRefusedEverywhereAndNeverPrinted) {
  TempDir tmp;
  const std::string repo = "s3://pgvault-test-bucket/prefix";
  const std::vector<std::vector<std::string>> commands = {
      {"repo", "init", "--repo", repo},
      {"list", "--repo", repo},
      {"list", "--repo", repo, "--json"},
      {"verify", "--repo", repo},
      {"wal", "list", "--repo", repo},
  };
  for (const auto& command : commands) {
    std::vector<std::string> args = {"--log-level", "trace", "--s3-endpoint", kEndpoint};
    args.insert(args.end(), command.begin(), command.end());
    ExpectRefusedWithoutSecret(Pgvault(args), "--s3-endpoint " + command[0]);

    // The same from the environment and from the credentials file.
    std::vector<std::string> env = {"env", "AWS_ENDPOINT_URL=" + kEndpoint, PGVAULT_BINARY, "--log-level", "trace"};
    env.insert(env.end(), command.begin(), command.end());
    ExpectRefusedWithoutSecret(pgvault::test::Run(env), "AWS_ENDPOINT_URL " + command[0]);

    std::string file = tmp / "credentials";
    std::ofstream(file) << "AWS_ACCESS_KEY_ID=AKIAKEYID\nAWS_SECRET_ACCESS_KEY=" << kSecret
                        << "\nAWS_ENDPOINT_URL=" << kEndpoint << "\n";
    std::vector<std::string> with_file = {"--log-level", "trace", "--repo-credentials", file};
    with_file.insert(with_file.end(), command.begin(), command.end());
    ExpectRefusedWithoutSecret(Pgvault(with_file), "credentials file " + command[0]);
  }
}

}  // namespace
}  // namespace pgvault::test
