// The Prometheus endpoint over real loopback sockets: libcurl and the curl
// tool as well-behaved scrapers, raw sockets for the requests they would not
// send (HEAD by hand, bad methods, silent or slow clients).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "controller/metrics_server.h"
#include "controller/prometheus_text.h"
#include "core/error.h"
#include "core/unique_fd.h"

using namespace pgvault;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

template <typename E, typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string SampleMetrics() {
  PrometheusText text;
  text.Declare("pgvault_up", MetricType::kGauge, "1 while the controller runs.");
  text.Add("pgvault_up", 1);
  text.Declare("pgvault_backups_total", MetricType::kCounter, "Backups finished.");
  text.Add("pgvault_backups_total", {{"cluster", "main"}, {"result", "success"}}, 7);
  return text.Render();
}

struct CurlResult {
  long status = 0;
  std::string content_type;
  std::string headers;
  std::string body;
};

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

CurlResult Fetch(const std::string& url, bool head = false) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  CurlResult result;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");  // an http_proxy in the environment must not interfere
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (head) curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, &Append);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &result.headers);
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    ADD_FAILURE() << url << ": " << curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &result.status);
  char* type = nullptr;
  curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) result.content_type = type;
  return result;
}

bool HaveIpv6Loopback() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

// A blocking client socket connected to the server on loopback.
UniqueFd Connect(uint16_t port, int family = AF_INET) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.valid());
  int rc;
  if (family == AF_INET6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  EXPECT_EQ(rc, 0) << "connect to port " << port << ": " << std::strerror(errno);
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the server sends until it closes the connection; `closed` says
// whether it did within `limit`.
std::string ReadUntilClosed(int fd, std::chrono::milliseconds limit = 5000ms, bool* closed = nullptr) {
  std::string out;
  Clock::time_point end = Clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      return out;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  if (closed != nullptr) {
    *closed = false;
  } else {
    ADD_FAILURE() << "server did not close the connection within " << limit.count() << " ms; got: " << out;
  }
  return out;
}

std::string Exchange(uint16_t port, std::string_view request) {
  UniqueFd fd = Connect(port);
  SendAll(fd.get(), request);
  return ReadUntilClosed(fd.get());
}

std::string StatusLine(const std::string& response) { return response.substr(0, response.find("\r\n")); }
std::string Body(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// Routes spdlog's default logger into a string for the scope.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

class MetricsServerTest : public ::testing::Test {
 protected:
  void StartServer(MetricsServerOptions options = {}) {
    server_ = std::make_unique<MetricsServer>(
        "127.0.0.1:0",
        [this] {
          ++renders_;
          return SampleMetrics();
        },
        options);
    server_->Start();
    ASSERT_NE(server_->port(), 0);
  }
  std::string Url(const std::string& path) { return fmt::format("http://127.0.0.1:{}{}", server_->port(), path); }

  std::atomic<int> renders_{0};
  std::unique_ptr<MetricsServer> server_;
};

}  // namespace

TEST_F(MetricsServerTest, ServesMetricsToLibcurl) {
  StartServer();
  CurlResult r = Fetch(Url("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, SampleMetrics());
  EXPECT_CONTAINS(r.headers, fmt::format("Content-Length: {}\r\n", SampleMetrics().size()));
  EXPECT_CONTAINS(r.headers, "Connection: close\r\n");
  EXPECT_EQ(renders_, 1);
  // Scrapes keep working, each rendering afresh; a query string is ignored.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Fetch(Url("/metrics?scrape=" + std::to_string(i))).body, SampleMetrics());
  EXPECT_EQ(renders_, 21);
}

TEST_F(MetricsServerTest, IndexPointsToMetrics) {
  StartServer();
  CurlResult r = Fetch(Url("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_CONTAINS(r.body, "<a href=\"/metrics\">");
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsServerTest, HeadGivesTheHeadersWithoutBody) {
  StartServer();
  std::string response = Exchange(server_->port(), "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(response, fmt::format("HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                                  "Content-Length: {}\r\n"
                                  "Connection: close\r\n\r\n",
                                  SampleMetrics().size()));
  CurlResult r = Fetch(Url("/metrics"), /*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

TEST_F(MetricsServerTest, UnknownPathIs404) {
  StartServer();
  std::string response = Exchange(server_->port(), "GET /metricsx HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(Body(response), "not found; metrics are at /metrics\n");
  EXPECT_EQ(Fetch(Url("/favicon.ico")).status, 404);
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsServerTest, OtherMethodsAre405EvenWithABody) {
  StartServer();
  std::string response =
      Exchange(server_->port(), "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_CONTAINS(response, "\r\nAllow: GET, HEAD\r\n");
  EXPECT_EQ(StatusLine(Exchange(server_->port(), "DELETE / HTTP/1.1\r\n\r\n")), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(StatusLine(Exchange(server_->port(), "get /metrics HTTP/1.1\r\n\r\n")), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsServerTest, MalformedOrOversizedRequests) {
  StartServer();
  EXPECT_EQ(StatusLine(Exchange(server_->port(), "hello\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange(server_->port(), "GET /metrics\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange(server_->port(), "GET /metrics HTTP/2.0\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange(server_->port(), "GET  /metrics HTTP/1.1\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  std::string huge = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(20000, 'x') + "\r\n\r\n";
  EXPECT_EQ(StatusLine(Exchange(server_->port(), huge)), "HTTP/1.1 431 Request Header Fields Too Large");
  // Bare LF line ends, as typed into nc, are accepted.
  std::string response = Exchange(server_->port(), "GET /metrics HTTP/1.0\nHost: x\n\n");
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 200 OK");
  EXPECT_EQ(Body(response), SampleMetrics());
}

TEST_F(MetricsServerTest, RequestSentByteByByte) {
  StartServer();
  UniqueFd fd = Connect(server_->port());
  for (char c : std::string("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")) {
    SendAll(fd.get(), std::string_view(&c, 1));
    std::this_thread::sleep_for(1ms);
  }
  std::string response = ReadUntilClosed(fd.get());
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 200 OK");
  EXPECT_EQ(Body(response), SampleMetrics());
}

TEST(MetricsServer, RenderFailureIs500AndLogged) {
  CapturedLog log;
  MetricsServer server("127.0.0.1:0", []() -> std::string { throw Error("catalog /var/lib/pgvault/catalog.db is locked"); });
  server.Start();
  CurlResult r = Fetch(fmt::format("http://127.0.0.1:{}/metrics", server.port()));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "cannot render the metrics: catalog /var/lib/pgvault/catalog.db is locked\n");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  server.Stop();
  EXPECT_CONTAINS(log.text(), "[error] metrics endpoint 127.0.0.1:0: cannot render the metrics: catalog "
                              "/var/lib/pgvault/catalog.db is locked");

  // Something that is not a std::exception, too.
  MetricsServer odd("127.0.0.1:0", []() -> std::string { throw 42; });
  odd.Start();
  r = Fetch(fmt::format("http://127.0.0.1:{}/metrics", odd.port()));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "cannot render the metrics: unknown exception\n");
}

TEST_F(MetricsServerTest, SilentClientDoesNotBlockOthersAndIsDroppedAfterTheTimeout) {
  StartServer({.client_timeout = 500ms});
  Clock::time_point start = Clock::now();
  UniqueFd silent = Connect(server_->port());
  UniqueFd partial = Connect(server_->port());
  SendAll(partial.get(), "GET /metr");
  // Served at once while the other two hold their connections.
  CurlResult r = Fetch(Url("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(SecondsSince(start), 0.4);
  bool closed = false;
  EXPECT_EQ(ReadUntilClosed(silent.get(), 3000ms, &closed), "");  // dropped without an answer
  EXPECT_TRUE(closed);
  EXPECT_EQ(ReadUntilClosed(partial.get(), 3000ms, &closed), "");
  EXPECT_TRUE(closed);
  double elapsed = SecondsSince(start);
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 1.5);
}

TEST_F(MetricsServerTest, ClientsBeyondTheLimitWaitForAFreeSlot) {
  StartServer({.client_timeout = 500ms, .max_connections = 2});
  UniqueFd a = Connect(server_->port());
  UniqueFd b = Connect(server_->port());
  std::this_thread::sleep_for(50ms);  // both accepted: the slots are full
  Clock::time_point start = Clock::now();
  CurlResult r = Fetch(Url("/metrics"));  // queued in the kernel until a and b time out
  EXPECT_EQ(r.status, 200);
  double elapsed = SecondsSince(start);
  EXPECT_GE(elapsed, 0.35);
  EXPECT_LT(elapsed, 1.5);
}

TEST_F(MetricsServerTest, StopIsPromptWhileClientsAreConnectedButSilent) {
  StartServer();  // default 5 s client timeout
  UniqueFd silent = Connect(server_->port());
  UniqueFd partial = Connect(server_->port());
  SendAll(partial.get(), "GET /metrics HTTP/1.1\r\n");
  std::this_thread::sleep_for(100ms);  // accepted and waiting
  uint16_t port = server_->port();
  Clock::time_point start = Clock::now();
  server_->Stop();
  EXPECT_LT(SecondsSince(start), 1.0);
  bool closed = false;
  EXPECT_EQ(ReadUntilClosed(silent.get(), 1000ms, &closed), "");
  EXPECT_TRUE(closed);
  // No longer listening.
  UniqueFd late(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(late.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  int err = errno;
  EXPECT_NE(rc, 0);
  EXPECT_EQ(err, ECONNREFUSED);
  server_->Stop();  // again: nothing to do
}

TEST(MetricsServer, DestructorStopsIt) {
  Clock::time_point start = Clock::now();
  UniqueFd silent;
  {
    MetricsServer server("127.0.0.1:0", SampleMetrics);
    server.Start();
    silent = Connect(server.port());
  }
  EXPECT_LT(SecondsSince(start), 1.0);
  MetricsServer never_started("127.0.0.1:0", SampleMetrics);
  EXPECT_EQ(never_started.port(), 0);
  never_started.Stop();
}

TEST(MetricsServer, PortInUseNamesTheAddressAndReason) {
  MetricsServer first("127.0.0.1:0", SampleMetrics);
  first.Start();
  std::string address = fmt::format("127.0.0.1:{}", first.port());
  MetricsServer second(address, SampleMetrics);
  EXPECT_EQ(ErrorOf<Error>([&] { second.Start(); }),
            fmt::format("metrics endpoint: cannot listen on {}: Address already in use", address));
  // `localhost` resolves to 127.0.0.1 first and does not fall back to ::1.
  MetricsServer third(fmt::format("localhost:{}", first.port()), SampleMetrics);
  EXPECT_EQ(ErrorOf<Error>([&] { third.Start(); }),
            fmt::format("metrics endpoint: cannot listen on localhost:{} ({}): Address already in use", first.port(),
                        address));
  // The first one still serves.
  EXPECT_EQ(Fetch(fmt::format("http://{}/metrics", address)).body, SampleMetrics());
  EXPECT_EQ(ErrorOf<Error>([&] { first.Start(); }), "metrics endpoint 127.0.0.1:0: already started");
}

TEST(MetricsServer, AddressNotOnThisHost) {
  // 192.0.2.0/24 is TEST-NET-1: never a local address; bind fails, nothing is sent.
  MetricsServer server("192.0.2.1:0", SampleMetrics);
  EXPECT_EQ(ErrorOf<Error>([&] { server.Start(); }),
            "metrics endpoint: cannot listen on 192.0.2.1:0: Cannot assign requested address");
}

TEST(MetricsServer, ParsesListenAddresses) {
  auto parse = [](std::string_view a) {
    ListenAddress l = ParseListenAddress(a);
    return fmt::format("{}|{}", l.host, l.port);
  };
  EXPECT_EQ(parse("127.0.0.1:9187"), "127.0.0.1|9187");
  EXPECT_EQ(parse(":9187"), "|9187");
  EXPECT_EQ(parse("localhost:0"), "localhost|0");
  EXPECT_EQ(parse("[::1]:65535"), "::1|65535");
  EXPECT_EQ(parse("[::]:9187"), "::|9187");
  EXPECT_EQ(ErrorOf<UsageError>([] { ParseListenAddress("9187"); }),
            "invalid metrics address \"9187\": no port; expected HOST:PORT, e.g. 127.0.0.1:9187 or :9187");
  EXPECT_EQ(ErrorOf<UsageError>([] { ParseListenAddress("::1:9187"); }),
            "invalid metrics address \"::1:9187\": an IPv6 address needs brackets, e.g. [::1]:9187");
  for (const char* bad : {"host:", "host:http", "host:65536", "host:-1", "host:+80", "host:80 ", "host:99999999999"})
    EXPECT_CONTAINS(ErrorOf<UsageError>([&] { ParseListenAddress(bad); }), "the port must be a number from 0 to 65535");
  for (const char* bad : {"[::1]", "[::1]9187", "[::1:9187", "[]:9187"})
    EXPECT_CONTAINS(ErrorOf<UsageError>([&] { ParseListenAddress(bad); }), "invalid metrics address");
  // Start() reports the same UsageError, before touching the network.
  MetricsServer server("localhost", SampleMetrics);
  EXPECT_CONTAINS(ErrorOf<UsageError>([&] { server.Start(); }), "no port");
}

TEST(MetricsServer, AllInterfacesLocalhostAndIpv6Forms) {
  MetricsServer any(":0", SampleMetrics);
  any.Start();
  EXPECT_EQ(Fetch(fmt::format("http://127.0.0.1:{}/metrics", any.port())).body, SampleMetrics());
  if (HaveIpv6Loopback()) {  // "::" with IPV6_V6ONLY off takes both
    EXPECT_EQ(Fetch(fmt::format("http://[::1]:{}/metrics", any.port())).body, SampleMetrics());
  }

  MetricsServer local("localhost:0", SampleMetrics);
  local.Start();
  EXPECT_EQ(Fetch(fmt::format("http://127.0.0.1:{}/metrics", local.port())).body, SampleMetrics());

  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  MetricsServer v6("[::1]:0", SampleMetrics);
  v6.Start();
  EXPECT_EQ(Fetch(fmt::format("http://[::1]:{}/metrics", v6.port())).body, SampleMetrics());
  UniqueFd fd = Connect(v6.port(), AF_INET6);
  SendAll(fd.get(), "HEAD / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(StatusLine(ReadUntilClosed(fd.get())), "HTTP/1.1 200 OK");
}

TEST_F(MetricsServerTest, CurlToolCanScrapeIt) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl tool";
  StartServer();
  std::string command = fmt::format("curl -sS --fail --noproxy '*' --max-time 5 {} 2>&1", Url("/metrics"));
  std::unique_ptr<FILE, decltype(&::pclose)> pipe(::popen(command.c_str(), "r"), &::pclose);
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, n);
  EXPECT_EQ(::pclose(pipe.release()), 0) << output;
  EXPECT_EQ(output, SampleMetrics());
}
