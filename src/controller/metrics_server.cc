#include "controller/metrics_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "controller/prometheus_text.h"
#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

namespace {

using Clock = std::chrono::steady_clock;

// Prometheus sends a request head of a few hundred bytes; anything much
// larger is not a scrape.
constexpr size_t kMaxRequestHead = 8192;
// After the response, we read and discard what the client still sends until
// it closes, for at most this long: closing a socket with unread input sends
// a reset, which can destroy the response before the client has read it.
constexpr auto kLingerTime = std::chrono::seconds(1);
// accept() failing for lack of file descriptors leaves the connection queued
// and the socket readable; pause instead of spinning on it.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

constexpr std::string_view kIndexPage =
    "<html><head><title>pgvault controller</title></head><body>\n"
    "<h1>pgvault controller</h1>\n"
    "<p><a href=\"/metrics\">Metrics</a></p>\n"
    "</body></html>\n";

// "127.0.0.1:9187" or "[::1]:9187".
std::string NumericAddress(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST], service[NI_MAXSERV];
  if (::getnameinfo(address, length, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "?";
  return address->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host, service) : fmt::format("{}:{}", host, service);
}

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;  // complete "Name: value\r\n" lines
};

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Unknown";
  }
}

Response Plain(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Status line, headers and (unless for HEAD) body, ready to send.
std::string Serialize(const Response& response, bool head_only) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n", response.status,
      Reason(response.status), response.content_type, response.body.size(), response.extra_headers);
  if (!head_only) out += response.body;
  return out;
}

// Where the request head ends (just past the empty line after the header
// fields), or npos while incomplete. Lines may end in "\r\n" or a bare "\n",
// which HTTP allows recipients to accept and which makes `nc` usable.
size_t FindHeadEnd(std::string_view data) {
  size_t start = 0;
  for (;;) {
    size_t newline = data.find('\n', start);
    if (newline == std::string_view::npos) return std::string_view::npos;
    std::string_view line = data.substr(start, newline - start);
    if (start > 0 && (line.empty() || line == "\r")) return newline + 1;
    start = newline + 1;
  }
}

struct Connection {
  enum class Phase { kReading, kWriting, kLingering };
  UniqueFd fd;
  std::string peer;
  Clock::time_point deadline;
  Phase phase = Phase::kReading;
  std::string input;
  std::string output;
  size_t sent = 0;
  bool done = false;  // to be closed and removed
};

// The serving loop's state; lives on the server thread only.
class Loop {
 public:
  Loop(int listen_fd, int wake_fd, const MetricsServer::RenderFunction& render, const MetricsServerOptions& options,
       const std::string& address)
      : listen_fd_(listen_fd), wake_fd_(wake_fd), render_(render), options_(options), address_(address) {}

  void Run(const std::atomic<bool>& stopping) {
    while (!stopping.load()) {
      Clock::time_point now = Clock::now();
      for (Connection& c : connections_) {
        if (now >= c.deadline && !c.done) {
          if (c.phase != Connection::Phase::kLingering)
            spdlog::debug("metrics endpoint: client {} timed out", c.peer);
          c.done = true;
        }
      }
      std::erase_if(connections_, [](const Connection& c) { return c.done; });

      // [0] the eventfd, [1] the listening socket (fd -1, which poll()
      // ignores, while full or paused), then one entry per connection.
      bool accepting = connections_.size() < options_.max_connections && now >= accept_resume_;
      std::vector<pollfd> fds;
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
      std::optional<Clock::time_point> wake_at;
      if (now < accept_resume_) wake_at = accept_resume_;
      for (const Connection& c : connections_) {
        short events = c.phase == Connection::Phase::kWriting ? POLLOUT : POLLIN;
        fds.push_back({c.fd.get(), events, 0});
        if (!wake_at || c.deadline < *wake_at) wake_at = c.deadline;
      }
      int timeout_ms = -1;
      if (wake_at)
        timeout_ms = static_cast<int>(
            std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(*wake_at - now).count()));

      if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
        if (errno == EINTR) continue;
        throw Error(fmt::format("poll failed: {}", ErrnoText(errno)));
      }
      if (fds[0].revents != 0) break;  // Stop()
      // Connections first: Accept() appends to connections_, past fds' end.
      for (size_t i = 0; i + 2 < fds.size(); ++i)
        if (fds[i + 2].revents != 0) Advance(connections_[i]);
      if (fds[1].revents != 0) Accept();
    }
  }

 private:
  void Accept() {
    while (connections_.size() < options_.max_connections) {
      sockaddr_storage peer{};
      socklen_t length = sizeof peer;
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        // The connection died in the queue, or a firewall refused it: next.
        if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
        // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
        if (!accept_failing_)
          spdlog::warn("metrics endpoint {}: cannot accept connections: {}", address_, ErrnoText(err));
        accept_failing_ = true;
        accept_resume_ = Clock::now() + kAcceptPause;
        return;
      }
      accept_failing_ = false;
      Connection c;
      c.fd = UniqueFd(fd);
      c.peer = NumericAddress(reinterpret_cast<sockaddr*>(&peer), length);
      c.deadline = Clock::now() + options_.client_timeout;
      connections_.push_back(std::move(c));
      // Usually the request is already there: try at once.
      Advance(connections_.back());
    }
  }

  // Moves a connection along as far as its socket allows without blocking.
  void Advance(Connection& c) {
    if (c.phase == Connection::Phase::kReading) Read(c);
    if (c.phase == Connection::Phase::kWriting && !c.done) Write(c);
    if (c.phase == Connection::Phase::kLingering && !c.done) Linger(c);
  }

  void Read(Connection& c) {
    char buffer[4096];
    ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.done = true;
      return;
    }
    if (n == 0) {  // closed before a complete request: nothing to answer
      c.done = true;
      return;
    }
    c.input.append(buffer, static_cast<size_t>(n));
    size_t end = FindHeadEnd(c.input);
    if (end == std::string::npos ? c.input.size() > kMaxRequestHead : end > kMaxRequestHead) {
      Respond(c, "", "", Plain(431, "request head too large\n"), false);
    } else if (end != std::string::npos) {
      Handle(c, std::string_view(c.input).substr(0, end));
    }
  }

  void Handle(Connection& c, std::string_view head) {
    std::string_view request_line = head.substr(0, head.find('\n'));
    if (request_line.ends_with('\r')) request_line.remove_suffix(1);
    // METHOD SP TARGET SP HTTP/1.x, nothing else.
    size_t first = request_line.find(' ');
    size_t second = first == std::string_view::npos ? first : request_line.find(' ', first + 1);
    if (second == std::string_view::npos || request_line.find(' ', second + 1) != std::string_view::npos ||
        !request_line.substr(second + 1).starts_with("HTTP/1.")) {
      Respond(c, "", "", Plain(400, "malformed request line\n"), false);
      return;
    }
    std::string method(request_line.substr(0, first));
    std::string target(request_line.substr(first + 1, second - first - 1));
    std::string_view path = std::string_view(target).substr(0, target.find('?'));
    bool head_only = method == "HEAD";

    if (path != "/metrics" && path != "/") {
      Respond(c, method, target, Plain(404, "not found; metrics are at /metrics\n"), head_only);
      return;
    }
    if (method != "GET" && method != "HEAD") {
      Response r = Plain(405, "method not allowed; use GET\n");
      r.extra_headers = "Allow: GET, HEAD\r\n";
      Respond(c, method, target, r, false);
      return;
    }
    if (path == "/") {
      Response r = Plain(200, std::string(kIndexPage));
      r.content_type = "text/html; charset=utf-8";
      Respond(c, method, target, r, head_only);
      return;
    }
    Response r;
    r.content_type = std::string(kPrometheusContentType);
    try {
      r.body = render_();
    } catch (const std::exception& e) {
      spdlog::error("metrics endpoint {}: cannot render the metrics: {}", address_, e.what());
      r = Plain(500, fmt::format("cannot render the metrics: {}\n", e.what()));
    } catch (...) {
      spdlog::error("metrics endpoint {}: cannot render the metrics: unknown exception", address_);
      r = Plain(500, "cannot render the metrics: unknown exception\n");
    }
    Respond(c, method, target, r, head_only);
  }

  void Respond(Connection& c, const std::string& method, const std::string& target, const Response& r,
               bool head_only) {
    spdlog::debug("metrics endpoint: {} {} from {}: {}", method, target, c.peer, r.status);
    c.output = Serialize(r, head_only);
    c.input.clear();
    c.phase = Connection::Phase::kWriting;
  }

  void Write(Connection& c) {
    while (c.sent < c.output.size()) {
      // MSG_NOSIGNAL: a client gone away must not raise SIGPIPE in the daemon.
      ssize_t n = ::send(c.fd.get(), c.output.data() + c.sent, c.output.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) c.done = true;
        return;
      }
      c.sent += static_cast<size_t>(n);
    }
    // All sent: tell the client (FIN), then wait for it to close its side.
    ::shutdown(c.fd.get(), SHUT_WR);
    c.phase = Connection::Phase::kLingering;
    c.deadline = std::min(c.deadline, Clock::now() + kLingerTime);
  }

  void Linger(Connection& c) {
    char buffer[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
      if (n > 0) continue;  // discarded
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.done = true;
      return;
    }
  }

  int listen_fd_;
  int wake_fd_;
  const MetricsServer::RenderFunction& render_;
  const MetricsServerOptions& options_;
  const std::string& address_;
  std::vector<Connection> connections_;
  Clock::time_point accept_resume_{};
  bool accept_failing_ = false;
};

}  // namespace

ListenAddress ParseListenAddress(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return UsageError(fmt::format("invalid metrics address \"{}\": {}", address, why));
  };
  std::string_view host, port_text;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':')
      throw bad("expected [IPV6-ADDRESS]:PORT, e.g. [::1]:9187");
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
    if (host.empty()) throw bad("empty IPv6 address between the brackets");
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) throw bad("no port; expected HOST:PORT, e.g. 127.0.0.1:9187 or :9187");
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw bad("an IPv6 address needs brackets, e.g. [::1]:9187");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    throw bad("the port must be a number from 0 to 65535");
  return ListenAddress{std::string(host), static_cast<uint16_t>(port)};
}

MetricsServer::MetricsServer(std::string address, RenderFunction render, MetricsServerOptions options)
    : address_(std::move(address)), render_(std::move(render)), options_(options) {
  if (options_.max_connections == 0) options_.max_connections = 1;
}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Start() {
  if (thread_.joinable()) throw Error(fmt::format("metrics endpoint {}: already started", address_));
  ListenAddress parsed = ParseListenAddress(address_);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;  // empty host: the wildcard addresses
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(parsed.port);
  int rc = ::getaddrinfo(parsed.host.empty() ? nullptr : parsed.host.c_str(), port_text.c_str(), &hints, &found);
  if (rc != 0) {
    throw Error(fmt::format("metrics endpoint: cannot resolve {} in {}: {}", parsed.host, address_,
                            rc == EAI_SYSTEM ? ErrnoText(errno) : ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);

  // One listening socket. A host name listens on its IPv4 address if it has
  // one (Go's net.Listen, hence Prometheus' exporters, do the same). The
  // empty host listens on "::" with IPV6_V6ONLY off, which also takes IPv4
  // connections, and on 0.0.0.0 only if the system has no IPv6.
  std::vector<const addrinfo*> candidates;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next)
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6) candidates.push_back(a);
  int preferred = parsed.host.empty() ? AF_INET6 : AF_INET;
  std::stable_partition(candidates.begin(), candidates.end(),
                        [&](const addrinfo* a) { return a->ai_family == preferred; });

  UniqueFd fd;
  std::string failure = "no IPv4 or IPv6 address";
  for (const addrinfo* a : candidates) {
    std::string numeric = NumericAddress(a->ai_addr, a->ai_addrlen);
    std::string where = numeric == address_ ? address_ : fmt::format("{} ({})", address_, numeric);
    // CLOEXEC: backup subprocesses must not inherit the socket (and keep the
    // port bound after the controller exits).
    UniqueFd s(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int err = 0;
    if (!s.valid()) {
      err = errno;
    } else {
      int one = 1, zero = 0;
      // A restarted controller must not fail on connections in TIME_WAIT;
      // on Linux this does not allow two listeners on one port.
      ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (a->ai_family == AF_INET6 && parsed.host.empty())
        ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
      if (::bind(s.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(s.get(), 64) != 0) err = errno;
    }
    if (err == 0) {
      fd = std::move(s);
      break;
    }
    failure = fmt::format("cannot listen on {}: {}", where, ErrnoText(err));
    // Only a missing address family moves on to the next address: a port in
    // use on 127.0.0.1 must not quietly become a listener on ::1.
    if (err != EAFNOSUPPORT && err != EADDRNOTAVAIL) break;
  }
  if (!fd.valid()) {
    throw Error(candidates.empty() ? fmt::format("metrics endpoint: cannot listen on {}: {}", address_, failure)
                                   : fmt::format("metrics endpoint: {}", failure));
  }

  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0)
    throw Error(fmt::format("metrics endpoint {}: getsockname: {}", address_, ErrnoText(errno)));
  uint16_t port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) throw Error(fmt::format("metrics endpoint {}: eventfd: {}", address_, ErrnoText(errno)));

  listen_fd_ = std::move(fd);
  wake_fd_ = std::move(wake);
  port_ = port;
  stopping_ = false;
  thread_ = std::thread([this] { Serve(); });
  spdlog::info("serving metrics on {} (port {})", address_, port_);
}

void MetricsServer::Serve() {
  try {
    Loop(listen_fd_.get(), wake_fd_.get(), render_, options_, address_).Run(stopping_);
  } catch (const std::exception& e) {
    // Only poll() failing or memory running out get here; the controller
    // goes on without its endpoint rather than dying, and says so.
    spdlog::error("metrics endpoint {} stopped: {}", address_, e.what());
  }
}

void MetricsServer::Stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    uint64_t one = 1;
    // Cannot fail usefully: the counter only overflows after 2^64-1 writes.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
    thread_.join();
  }
  listen_fd_.Reset();
  wake_fd_.Reset();
}

}  // namespace pgvault
