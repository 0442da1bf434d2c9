// How object-store requests are retried: exponential backoff with full
// jitter (a random wait in [0, min(cap, base * 2^attempt)]), so that parallel
// workers hit by the same outage do not come back in lockstep.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "storage/http_client.h"
#include "storage/object_store.h"

namespace pgvault {

struct RetryPolicy {
  int max_attempts = 8;  // first try included
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{8000};
  // PGVAULT_REPO_RETRIES (attempts after the first) overrides max_attempts.
  static RetryPolicy FromEnvironment();
};

// 408, 429, 500, 502, 503, 504: the service asks to come back later or failed
// on its side; the same request may succeed.
bool IsRetryableStatus(long status);

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt);

// Sends the request `build` makes (called again for every attempt, so that a
// signature carries a fresh date), retrying transport failures and retryable
// statuses. Returns the first response with another status (2xx, 3xx, 4xx but
// 408/429), for the driver to interpret. When the attempts run out, throws
// ObjectStoreError naming `endpoint` and `operation`. `attempts`, when given,
// receives how many attempts were sent (also when it throws): more than one
// means an earlier attempt may have reached the service and done its work
// without its answer arriving.
HttpResponse SendWithRetries(HttpClient& client, const RetryPolicy& policy, const std::string& endpoint,
                             const std::string& operation, const std::function<HttpRequest()>& build,
                             int* attempts = nullptr);

// The error for a response the driver does not accept: endpoint, operation,
// status, the service's error code (XML <Code>, or x-ms-error-code) and
// message, and a hint for the usual causes (credentials, missing bucket).
ObjectStoreError ResponseError(const std::string& endpoint, const std::string& operation,
                               const HttpResponse& response);

}  // namespace pgvault
