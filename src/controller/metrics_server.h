// MetricsServer: the HTTP endpoint Prometheus scrapes (`--metrics-addr`).
//
// A deliberately small HTTP/1.1 server: one background thread, a poll() loop
// over the listening socket, a few client connections and an eventfd that
// Stop() signals. Each connection gets one request and one response, then is
// closed ("Connection: close"), so there is no keep-alive, chunking or
// request body handling to get wrong.
//
//   GET  /metrics   200, body from the render callback, text format 0.0.4
//   HEAD /metrics   the same headers, no body
//   GET  /          200, a short HTML page linking to /metrics
//   other paths     404
//   other methods   405 (with Allow: GET, HEAD)
//   render throws   500 with the exception's message (also logged)
//   malformed       400; request head larger than 8 KiB: 431
//
// A client has `client_timeout` from accept to the end of its exchange; one
// that connects and sends nothing is closed when it runs out, and meanwhile
// other clients are served (up to `max_connections` at a time; more wait in
// the kernel's accept queue).
//
// The render callback runs on the server thread, one call at a time, and may
// be called at any moment between Start() and Stop(): whatever state it reads
// must be protected against the threads that update it. It must not call
// Stop(). A slow callback delays the other clients and Stop().
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "core/unique_fd.h"

namespace pgvault {

// "HOST:PORT" taken apart. Accepted: "127.0.0.1:9187", "localhost:9187",
// "[::1]:9187", ":9187" (host empty: all interfaces). The port is a number in
// 0..65535; 0 lets the kernel choose (see MetricsServer::port()).
struct ListenAddress {
  std::string host;  // without brackets; empty for all interfaces
  uint16_t port = 0;
};
// Throws UsageError naming the address when it is malformed (no port, an
// IPv6 address without brackets, a port that is not a number or too large).
ListenAddress ParseListenAddress(std::string_view address);

struct MetricsServerOptions {
  // From accept to the response's last byte; the client is dropped after.
  std::chrono::milliseconds client_timeout{5000};
  // Clients served at once; more wait in the kernel's accept queue.
  size_t max_connections = 8;
};

class MetricsServer {
 public:
  using RenderFunction = std::function<std::string()>;

  MetricsServer(std::string address, RenderFunction render, MetricsServerOptions options = {});
  ~MetricsServer();  // Stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Resolves, binds and listens, then serves on a background thread. Throws
  // pgvault::Error naming the address and the reason ("Address already in
  // use") when it cannot; UsageError when the address is malformed. A host
  // name listens on one of its addresses, IPv4 first (as Prometheus'
  // exporters do); an empty host on all interfaces, IPv6 and IPv4 when the
  // system has IPv6. Once Start() returns, connections are accepted.
  void Start();
  // Closes the listening socket and every client connection and joins the
  // thread. Returns promptly (waits only for a render call in progress).
  // Idempotent; the destructor calls it.
  void Stop();

  // The port listened on (the kernel's choice for port 0); 0 before Start().
  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }

 private:
  void Serve();

  std::string address_;
  RenderFunction render_;
  MetricsServerOptions options_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;  // eventfd: Stop() writes to it to end poll()
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace pgvault
