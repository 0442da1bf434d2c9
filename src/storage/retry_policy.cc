#include "storage/retry_policy.h"

#include <cstdlib>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "storage/xml_reader.h"

namespace pgvault {

RetryPolicy RetryPolicy::FromEnvironment() {
  RetryPolicy policy;
  if (const char* retries = std::getenv("PGVAULT_REPO_RETRIES"); retries && *retries) {
    char* end = nullptr;
    long n = std::strtol(retries, &end, 10);
    if (*end != '\0' || n < 0 || n > 100)
      throw UsageError(fmt::format("PGVAULT_REPO_RETRIES='{}' is not a number of retries between 0 and 100", retries));
    policy.max_attempts = static_cast<int>(n) + 1;
  }
  return policy;
}

bool IsRetryableStatus(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  auto ceiling = policy.base * (1LL << std::min(attempt, 20));
  if (ceiling > policy.cap) ceiling = policy.cap;
  std::uniform_int_distribution<long long> pick(0, ceiling.count());
  return std::chrono::milliseconds(pick(random));
}

ObjectStoreError ResponseError(const std::string& endpoint, const std::string& operation,
                               const HttpResponse& response) {
  std::string code = response.Header("x-ms-error-code");
  if (code.empty()) code = XmlFirst(response.body, "Code").value_or("");
  // One line: Azure's message carries RequestId and Time on lines of their own.
  std::string message = XmlFirst(response.body, "Message").value_or("");
  if (auto newline = message.find('\n'); newline != std::string::npos) message.erase(newline);
  while (!message.empty() && (message.back() == '\r' || message.back() == ' ')) message.pop_back();
  std::string hint;
  if (response.status == 403 || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
      code == "AuthorizationFailure" || code == "AuthenticationFailed")
    hint = ": check the credentials (AWS_* or GOOGLE_HMAC_* for S3 and GCS, AZURE_STORAGE_* for Azure, or the "
           "credentials file) and the clock";
  else if (code == "NoSuchBucket" || code == "ContainerNotFound")
    hint = ": the bucket or container does not exist; create it first";
  std::string what = fmt::format("{}: {} failed: HTTP {}", endpoint, operation, response.status);
  if (!code.empty()) what += " " + code;
  if (!message.empty()) what += " (" + message + ")";
  return ObjectStoreError(what + hint, response.status, code);
}

HttpResponse SendWithRetries(HttpClient& client, const RetryPolicy& policy, const std::string& endpoint,
                             const std::string& operation, const std::function<HttpRequest()>& build,
                             int* attempts) {
  for (int attempt = 1;; ++attempt) {
    if (attempts) *attempts = attempt;
    bool last = attempt >= policy.max_attempts;
    try {
      HttpResponse response = client.Perform(build());
      if (!IsRetryableStatus(response.status)) return response;
      if (last) {
        ObjectStoreError error = ResponseError(endpoint, operation, response);
        throw ObjectStoreError(fmt::format("{} (gave up after {} attempts)", error.what(), attempt),
                               error.http_status(), error.code());
      }
      spdlog::debug("{}: {} got HTTP {}, retrying (attempt {} of {})", endpoint, operation, response.status, attempt,
                    policy.max_attempts);
    } catch (const TransportError& e) {
      if (last)
        throw ObjectStoreError(fmt::format("{}: {} failed: {}{} (gave up after {} attempts)", endpoint, operation,
                                           e.what(), e.timed_out() ? " (no progress: stalled or unreachable)" : "",
                                           attempt),
                               0, e.timed_out() ? "Timeout" : "Transport");
      spdlog::debug("{}: {} failed ({}), retrying (attempt {} of {})", endpoint, operation, e.what(), attempt,
                    policy.max_attempts);
    }
    std::this_thread::sleep_for(BackoffDelay(policy, attempt));
  }
}

}  // namespace pgvault
