#include "support/object_store_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "support/pg_cluster.h"

#ifndef PGVAULT_SOURCE_DIR
#error "PGVAULT_SOURCE_DIR (the repository's root) must be defined by the build"
#endif

namespace pgvault::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
constexpr const char* kAzureApiVersion = "2021-08-06";
constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr int kStartAttempts = 3;  // a free port taken by someone else before the server bound it

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

bool OnPath(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::optional<std::string> Missing(const std::vector<std::string>& programs) {
  for (const auto& p : programs)
    if (!OnPath(p)) return p + " not installed; run scripts/setup";
  return std::nullopt;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// The last `bytes` of a log file, labelled.
std::string Tail(const std::string& path, size_t bytes = 3000) {
  std::string text = ReadFile(path);
  if (text.size() > bytes) text = "..." + text.substr(text.size() - bytes);
  return "--- " + path + " ---\n" + text + (text.empty() || text.back() == '\n' ? "" : "\n");
}

bool PortAccepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A server process: dies with its parent (setpriv --pdeathsig) as well as
// with the BackgroundProcess (SIGKILL to its process group).
std::unique_ptr<BackgroundProcess> Spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<std::string> full = {"setpriv", "--pdeathsig", "KILL", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return std::make_unique<BackgroundProcess>(full, log);
}

enum class WaitResult { kReady, kDied, kTimedOut };

// Polls `ready` until it holds, one of `processes` exits, or the timeout.
WaitResult WaitUntilReady(const std::function<bool()>& ready, const std::vector<BackgroundProcess*>& processes,
                          std::chrono::milliseconds timeout = kStartTimeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    for (auto* p : processes)
      if (!p->Running()) return WaitResult::kDied;
    if (ready()) return WaitResult::kReady;
    if (Clock::now() > deadline) return WaitResult::kTimedOut;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string CurrentUser() {
  passwd* pw = ::getpwuid(::geteuid());
  if (!pw) throw std::runtime_error("no passwd entry for the current user");
  return pw->pw_name;
}

std::string PercentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// "http://host:port/path" -> {"http://host:port", "/path"}
std::pair<std::string, std::string> SplitEndpoint(const std::string& endpoint) {
  auto scheme = endpoint.find("://");
  if (scheme == std::string::npos) throw std::runtime_error("not an endpoint URL: " + endpoint);
  auto slash = endpoint.find('/', scheme + 3);
  if (slash == std::string::npos) return {endpoint, ""};
  std::string path = endpoint.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {endpoint.substr(0, slash), path};
}

std::atomic<int> body_file_counter{0};

// Runs curl; its -w output "\n<status>" ends stdout.
HttpResponse Curl(std::vector<std::string> args, int max_time_seconds) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", std::to_string(max_time_seconds), "-w",
                                   "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = Run(argv);
  HttpResponse response;
  auto nl = r.out.rfind('\n');
  if (nl != std::string::npos) {
    response.body = r.out.substr(0, nl);
    response.status = std::atoi(r.out.c_str() + nl + 1);
  }
  if (response.status == 0) response.curl_error = "curl exit " + std::to_string(r.exit_code) + ": " + r.err;
  return response;
}

// Adds `--data-binary @file` for a non-empty body; the file is removed by the guard.
struct BodyFile {
  std::string path;
  BodyFile(const std::string& dir, const std::string& body, std::vector<std::string>& args) {
    if (body.empty()) return;
    path = dir + "/curl-body-" + std::to_string(::getpid()) + "-" + std::to_string(body_file_counter++);
    WriteFile(path, body);
    args.insert(args.end(), {"--data-binary", "@" + path});
  }
  ~BodyFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

void AddMethod(const std::string& method, std::vector<std::string>& args) {
  if (method == "HEAD") args.push_back("--head");  // -X HEAD would wait for a body
  else args.insert(args.end(), {"-X", method});
}

std::string Describe(const std::string& what, const HttpResponse& r) {
  return what + ": HTTP " + std::to_string(r.status) + (r.curl_error.empty() ? "" : " (" + r.curl_error + ")") +
         "\n" + r.body.substr(0, 2000);
}

void Require2xx(const std::string& what, const HttpResponse& r) {
  if (r.ok()) return;
  std::string message = Describe(what, r);
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

std::string Base64Encode(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Base64Decode(const std::string& text) {
  std::string out(3 * (text.size() / 4) + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("bad base64 key");
  size_t padding = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::string Md5Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A value of Debian's /etc/swift/swift.conf ([swift-hash] keys).
std::string SwiftConfValue(const std::string& key) {
  std::ifstream in("/etc/swift/swift.conf");
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos && Trim(line.substr(0, eq)) == key) return Trim(line.substr(eq + 1));
  }
  return "";
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Source(const std::string& relative) { return std::string(PGVAULT_SOURCE_DIR) + "/" + relative; }

}  // namespace

// ---- availability ------------------------------------------------------

std::string ObjectStoreServersDir() { return Source("scripts/object-store-servers"); }

std::optional<std::string> SwiftUnavailable() {
  if (InCi()) return std::nullopt;
  if (auto m = Missing({"swift-proxy-server", "swift-account-server", "swift-container-server",
                        "swift-object-server", "/usr/bin/python3", "curl", "setpriv"}))
    return m;
  if (!fs::exists("/etc/swift/swift.conf")) return "/etc/swift/swift.conf missing (package swift); run scripts/setup";
  return std::nullopt;
}

static std::optional<std::string> NpmServerUnavailable(const std::string& bin) {
  if (InCi()) return std::nullopt;
  if (auto m = Missing({"node", "curl", "setpriv"})) return m;
  std::string path = ObjectStoreServersDir() + "/node_modules/.bin/" + bin;
  if (::access(path.c_str(), X_OK) != 0) return path + " not installed; run scripts/setup (npm ci)";
  return std::nullopt;
}

std::optional<std::string> S3rverUnavailable() { return NpmServerUnavailable("s3rver"); }
std::optional<std::string> AzuriteUnavailable() { return NpmServerUnavailable("azurite-blob"); }

std::optional<std::string> ObjectStoreServersUnavailable() {
  if (InCi()) return std::nullopt;
  if (auto why = SwiftUnavailable()) return why;
  if (auto why = S3rverUnavailable()) return why;
  if (auto why = AzuriteUnavailable()) return why;
  if (auto why = Missing({"python3"})) return why;  // the fault proxy
  return std::nullopt;
}

// ---- S3 ----------------------------------------------------------------

S3Server::S3Server(const std::string& temp_prefix) : dir_(temp_prefix) {}
S3Server::~S3Server() = default;

HttpResponse S3Server::Request(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& via, const std::vector<std::string>& headers,
                               int max_time_seconds) const {
  std::string base = via.empty() ? endpoint_ : via;
  auto scheme = base.find("://");
  std::string url = base.substr(0, scheme + 3) + PercentEncode(access_key()) + ":" + PercentEncode(secret_key()) +
                    "@" + base.substr(scheme + 3) + target;
  std::vector<std::string> args = {"--aws-sigv4", "aws:amz:" + region() + ":s3", "-H",
                                   "x-amz-content-sha256: UNSIGNED-PAYLOAD"};
  AddMethod(method, args);
  BodyFile file(dir_.path(), body, args);
  if (!body.empty()) args.insert(args.end(), {"-H", "Content-Type: application/octet-stream"});
  for (const auto& h : headers) args.insert(args.end(), {"-H", h});
  args.push_back(url);
  return Curl(args, max_time_seconds);
}

void S3Server::CreateBucket(const std::string& bucket) const {
  Require2xx(name() + " create bucket " + bucket, Request("PUT", "/" + bucket));
}

void S3Server::PutObject(const std::string& bucket, const std::string& key, const std::string& data) const {
  Require2xx(name() + " PUT " + bucket + "/" + key, Request("PUT", "/" + bucket + "/" + key, data));
}

std::string S3Server::GetObject(const std::string& bucket, const std::string& key) const {
  HttpResponse r = Request("GET", "/" + bucket + "/" + key);
  Require2xx(name() + " GET " + bucket + "/" + key, r);
  return r.body;
}

// ---- Swift ---------------------------------------------------------------

SwiftS3Server::SwiftS3Server() : S3Server("pgvault-swift") {
  if (!fs::exists("/etc/swift/swift.conf"))
    throw std::runtime_error("/etc/swift/swift.conf is missing (Debian package swift): run scripts/setup");
  for (const char* d : {"etc", "node/d1", "log"}) fs::create_directories(dir_ / d);
  data_dir_ = dir_ / "node/d1";
  std::string why;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    if (TryStart(why)) return;
    Kill();
    if (why.rfind("timeout", 0) == 0) break;  // not a port race: do not try again
  }
  std::string message = "Swift did not start: " + why + "\n" + Logs();
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

SwiftS3Server::~SwiftS3Server() { Kill(); }

void SwiftS3Server::Kill() { processes_.clear(); }

void SwiftS3Server::WriteConfig() {
  std::string etc = dir_ / "etc";
  std::string user = CurrentUser();
  const std::pair<const char*, int> servers[] = {
      {"account", account_port_}, {"container", container_port_}, {"object", object_port_}};
  for (const auto& [name, port] : servers) {
    WriteFile(etc + "/" + name + "-server.conf",
              "[DEFAULT]\n"
              "devices = " + dir_.path() + "/node\n"
              "mount_check = false\n"
              "disable_fallocate = true\n"
              "bind_ip = 127.0.0.1\n"
              "bind_port = " + std::to_string(port) + "\n"
              "workers = 0\n"
              "user = " + user + "\n"
              "swift_dir = " + etc + "\n"
              "log_level = INFO\n"
              "[pipeline:main]\n"
              "pipeline = " + name + "-server\n"
              "[app:" + name + "-server]\n"
              "use = egg:swift#" + name + "\n");
  }
  // tempauth needs a swift.cache object, i.e. the cache filter; no memcached
  // server is needed for S3 (SigV4) authentication, so it points at a port
  // nothing listens on (the filter logs "Error connecting to memcached").
  WriteFile(etc + "/proxy-server.conf",
            "[DEFAULT]\n"
            "bind_ip = 127.0.0.1\n"
            "bind_port = " + std::to_string(port_) + "\n"
            "workers = 0\n"
            "user = " + user + "\n"
            "swift_dir = " + etc + "\n"
            "log_level = INFO\n"
            "[pipeline:main]\n"
            "pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth "
            "copy slo dlo proxy-logging proxy-server\n"
            "[app:proxy-server]\n"
            "use = egg:swift#proxy\n"
            "account_autocreate = true\n"
            "allow_account_management = true\n"
            "[filter:tempauth]\n"
            "use = egg:swift#tempauth\n"
            "user_test_tester = testing .admin\n"
            "[filter:s3api]\n"
            "use = egg:swift#s3api\n"
            "location = us-east-1\n"
            "s3_acl = false\n"
            "force_swift_request_proxy_log = true\n"
            "[filter:catch_errors]\nuse = egg:swift#catch_errors\n"
            "[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n"
            "[filter:healthcheck]\nuse = egg:swift#healthcheck\n"
            "[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n"
            "[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:1\n"
            "[filter:listing_formats]\nuse = egg:swift#listing_formats\n"
            "[filter:bulk]\nuse = egg:swift#bulk\n"
            "[filter:copy]\nuse = egg:swift#copy\n"
            "[filter:slo]\nuse = egg:swift#slo\n"
            "[filter:dlo]\nuse = egg:swift#dlo\n");
  // 1-replica rings of one device, all three in one Python process (the
  // swift-ring-builder CLI would take three per ring). Debian's python3:
  // a python3 earlier on PATH (pyenv) may not have the swift module.
  static const char* kRings = R"(import sys
from swift.common.ring import RingBuilder
for spec in sys.argv[2:]:
    name, port = spec.split(':')
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port),
               'device': 'd1', 'weight': 100, 'meta': ''})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (sys.argv[1], name))
)";
  RunOk({"/usr/bin/python3", "-c", kRings, etc, "account:" + std::to_string(account_port_),
         "container:" + std::to_string(container_port_), "object:" + std::to_string(object_port_)});
}

bool SwiftS3Server::TryStart(std::string& why) {
  account_port_ = FreePort();
  container_port_ = FreePort();
  object_port_ = FreePort();
  port_ = FreePort();
  if (std::set<int>{account_port_, container_port_, object_port_, port_}.size() != 4) {
    why = "the same free port twice";
    return false;
  }
  endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
  WriteConfig();
  std::vector<BackgroundProcess*> raw;
  for (const char* name : {"account", "container", "object", "proxy"}) {
    std::string log = dir_ / ("log/" + std::string(name) + ".log");
    ::truncate(log.c_str(), 0);
    // -v: log to stdout (there is no syslog here)
    processes_.push_back(Spawn(
        {std::string("swift-") + name + "-server", dir_ / ("etc/" + std::string(name) + "-server.conf"), "-v"},
        log));
    raw.push_back(processes_.back().get());
  }
  auto ready = [&] {
    for (int p : {account_port_, container_port_, object_port_, port_})
      if (!PortAccepts(p)) return false;
    HttpResponse r = Curl({endpoint_ + "/healthcheck"}, 5);
    return r.status == 200 && r.body == "OK";
  };
  switch (WaitUntilReady(ready, raw)) {
    case WaitResult::kReady:
      return true;
    case WaitResult::kDied:
      why = "a server exited";
      return false;
    case WaitResult::kTimedOut:
      why = "timeout: /healthcheck did not answer OK within 60 s";
      return false;
  }
  return false;
}

std::string SwiftS3Server::ObjectDataPath(const std::string& bucket, const std::string& key) const {
  // swift.common.utils.hash_path for /AUTH_test/<bucket>/<key>; the partition
  // is the hash's first byte (part power 8); policy 0 lives in objects/.
  std::string hash = Md5Hex(SwiftConfValue("swift_hash_path_prefix") + "/AUTH_test/" + bucket + "/" + key +
                            SwiftConfValue("swift_hash_path_suffix"));
  int partition = std::stoi(hash.substr(0, 2), nullptr, 16);
  fs::path dir = fs::path(data_dir_) / "objects" / std::to_string(partition) / hash.substr(hash.size() - 3) / hash;
  std::error_code ec;
  std::string newest;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".data" && e.path().string() > newest) newest = e.path().string();
  return newest;
}

std::string SwiftS3Server::Logs() const {
  std::string out;
  for (const char* name : {"account", "container", "object", "proxy"}) out += Tail(dir_ / ("log/" + std::string(name) + ".log"));
  return out;
}

// ---- s3rver --------------------------------------------------------------

S3rverServer::S3rverServer() : S3Server("pgvault-s3rver") {
  data_dir_ = dir_ / "data";
  fs::create_directories(data_dir_);
  std::string bin = ObjectStoreServersDir() + "/node_modules/.bin/s3rver";
  if (::access(bin.c_str(), X_OK) != 0) throw std::runtime_error(bin + " is missing: run scripts/setup (npm ci)");
  std::string why;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    port_ = FreePort();
    endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
    ::truncate((dir_ / "s3rver.log").c_str(), 0);
    // NODE_OPTIONS: s3rver encrypts ListObjectsV2 continuation tokens with
    // DES, which OpenSSL 3 has only in its legacy provider.
    process_ = Spawn({"env", "NODE_OPTIONS=--openssl-legacy-provider", bin, "-d", data_dir_, "-a", "127.0.0.1", "-p",
                      std::to_string(port_), "--no-vhost-buckets"},
                     dir_ / "s3rver.log");
    WaitResult r = WaitUntilReady([&] { return PortAccepts(port_); }, {process_.get()});
    if (r == WaitResult::kReady) return;
    process_.reset();
    why = r == WaitResult::kDied ? "s3rver exited" : "timeout: port " + std::to_string(port_) + " not listening";
    if (r == WaitResult::kTimedOut) break;
  }
  std::string message = "s3rver did not start: " + why + "\n" + Logs();
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

S3rverServer::~S3rverServer() { process_.reset(); }

std::string S3rverServer::ObjectDataPath(const std::string& bucket, const std::string& key) const {
  std::string path = data_dir_ + "/" + bucket + "/" + key + "._S3rver_object";
  return fs::exists(path) ? path : "";
}

std::string S3rverServer::Logs() const { return Tail(dir_ / "s3rver.log"); }

// ---- Azurite -------------------------------------------------------------

AzuriteServer::AzuriteServer() : dir_("pgvault-azurite") {
  data_dir_ = dir_ / "data";
  fs::create_directories(data_dir_);
  std::string bin = ObjectStoreServersDir() + "/node_modules/.bin/azurite-blob";
  if (::access(bin.c_str(), X_OK) != 0) throw std::runtime_error(bin + " is missing: run scripts/setup (npm ci)");
  std::string why;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    port_ = FreePort();
    ::truncate((dir_ / "azurite.log").c_str(), 0);
    process_ = Spawn({bin, "--blobHost", "127.0.0.1", "--blobPort", std::to_string(port_), "--location", data_dir_,
                      "--disableTelemetry", "--skipApiVersionCheck", "--disableProductStyleUrl"},
                     dir_ / "azurite.log");
    WaitResult r = WaitUntilReady([&] { return PortAccepts(port_); }, {process_.get()});
    if (r == WaitResult::kReady) return;
    process_.reset();
    why = r == WaitResult::kDied ? "azurite-blob exited" : "timeout: port " + std::to_string(port_) + " not listening";
    if (r == WaitResult::kTimedOut) break;
  }
  std::string message = "Azurite did not start: " + why + "\n" + Logs();
  ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

AzuriteServer::~AzuriteServer() { process_.reset(); }

std::string AzuriteServer::blob_endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + account();
}

std::string AzuriteServer::key() const { return kAzuriteKey; }

std::string AzuriteServer::connection_string() const {
  return "DefaultEndpointsProtocol=http;AccountName=" + account() + ";AccountKey=" + key() +
         ";BlobEndpoint=" + blob_endpoint() + ";";
}

std::string AzureSharedKeyAuthorization(const std::string& account, const std::string& base64_key,
                                        const std::string& method, const std::string& path,
                                        const std::multimap<std::string, std::string>& query,
                                        const std::map<std::string, std::string>& headers) {
  std::map<std::string, std::string> h;
  for (const auto& [name, value] : headers) h[Lower(name)] = Trim(value);
  auto get = [&](const std::string& name) {
    auto it = h.find(name);
    return it == h.end() ? std::string() : it->second;
  };
  std::string length = get("content-length");
  if (length == "0") length.clear();
  std::string sts = method + "\n" + get("content-encoding") + "\n" + get("content-language") + "\n" + length + "\n" +
                    get("content-md5") + "\n" + get("content-type") + "\n" + get("date") + "\n" +
                    get("if-modified-since") + "\n" + get("if-match") + "\n" + get("if-none-match") + "\n" +
                    get("if-unmodified-since") + "\n" + get("range") + "\n";
  for (const auto& [name, value] : h)  // std::map: sorted by lowercase name
    if (name.rfind("x-ms-", 0) == 0) sts += name + ":" + value + "\n";
  sts += "/" + account + path;
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [name, value] : query) params[Lower(name)].push_back(value);
  for (auto& [name, values] : params) {
    std::sort(values.begin(), values.end());
    sts += "\n" + name + ":";
    for (size_t i = 0; i < values.size(); ++i) sts += (i ? "," : "") + values[i];
  }
  std::string secret = Base64Decode(base64_key);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(sts.data()),
       sts.size(), mac, &mac_size);
  return "SharedKey " + account + ":" + Base64Encode(mac, mac_size);
}

HttpResponse AzuriteServer::Request(const std::string& method, const std::string& target, const std::string& body,
                                    const std::string& via, const std::string& key, int max_time_seconds) const {
  std::string base = via.empty() ? blob_endpoint() : via;
  std::string url = base + target;
  auto [origin, account_path] = SplitEndpoint(base);
  std::string path = account_path + target.substr(0, target.find('?'));
  std::multimap<std::string, std::string> query;
  if (auto q = target.find('?'); q != std::string::npos) {
    std::stringstream pairs(target.substr(q + 1));
    std::string pair;
    while (std::getline(pairs, pair, '&')) {
      auto eq = pair.find('=');
      query.emplace(UrlDecode(pair.substr(0, eq)), eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1)));
    }
  }
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  std::map<std::string, std::string> headers = {{"x-ms-date", date}, {"x-ms-version", kAzureApiVersion}};
  if (method == "PUT" || method == "POST") headers["Content-Length"] = std::to_string(body.size());
  bool put_blob = method == "PUT" && !body.empty() && query.empty();
  if (put_blob) {
    headers["x-ms-blob-type"] = "BlockBlob";
    headers["Content-Type"] = "application/octet-stream";
  } else if (!body.empty()) {
    headers["Content-Type"] = "application/xml";
  }
  headers["Authorization"] =
      AzureSharedKeyAuthorization(account(), key.empty() ? this->key() : key, method, path, query, headers);
  std::vector<std::string> args;
  AddMethod(method, args);
  BodyFile file(dir_.path(), body, args);
  for (const auto& [name, value] : headers) args.insert(args.end(), {"-H", name + ": " + value});
  args.push_back(url);
  return Curl(args, max_time_seconds);
}

void AzuriteServer::CreateContainer(const std::string& container) const {
  Require2xx("Azurite create container " + container, Request("PUT", "/" + container + "?restype=container"));
}

void AzuriteServer::PutBlob(const std::string& container, const std::string& blob, const std::string& data) const {
  Require2xx("Azurite PUT " + container + "/" + blob, Request("PUT", "/" + container + "/" + blob, data));
}

std::string AzuriteServer::GetBlob(const std::string& container, const std::string& blob) const {
  HttpResponse r = Request("GET", "/" + container + "/" + blob);
  Require2xx("Azurite GET " + container + "/" + blob, r);
  return r.body;
}

std::string AzuriteServer::Logs() const { return Tail(dir_ / "azurite.log"); }

// ---- stored bytes ------------------------------------------------------

std::vector<StoredCopy> FindStoredBytes(const std::string& root, const std::string& needle) {
  std::vector<StoredCopy> found;
  if (needle.empty()) return found;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(root, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string data = ReadFile(e.path());
    for (size_t at = data.find(needle); at != std::string::npos; at = data.find(needle, at + 1))
      found.push_back({e.path().string(), at});
  }
  return found;
}

void FlipByte(const std::string& path, std::uint64_t offset) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path);
  unsigned char byte = 0;
  bool ok = ::pread(fd, &byte, 1, static_cast<off_t>(offset)) == 1;
  byte = static_cast<unsigned char>(~byte);
  ok = ok && ::pwrite(fd, &byte, 1, static_cast<off_t>(offset)) == 1;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot flip byte " + std::to_string(offset) + " of " + path);
}

// ---- fault proxy -------------------------------------------------------

FaultProxy::FaultProxy(const std::string& upstream, double failure_rate, int delay_seconds,
                       std::optional<std::uint64_t> seed, const std::vector<std::string>& faults)
    : dir_("pgvault-fault-proxy") {
  auto [origin, path] = SplitEndpoint(upstream);
  std::string control = dir_ / "failure-rate";
  SetFailureRate(failure_rate);
  std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  std::vector<std::string> argv = {python, "-u", Source("tests/support/fault_proxy.py"),
                                   "--listen-port", "0", "--upstream", origin,
                                   "--failure-rate", std::to_string(failure_rate),
                                   "--delay-seconds", std::to_string(delay_seconds),
                                   "--control-file", control};
  if (seed) argv.insert(argv.end(), {"--seed", std::to_string(*seed)});
  if (!faults.empty()) {
    std::string list;
    for (const auto& f : faults) list += (list.empty() ? "" : ",") + f;
    argv.insert(argv.end(), {"--faults", list});
  }
  process_ = Spawn(argv, dir_ / "proxy.log");
  auto ready = [&] {
    std::string log = Log();
    auto at = log.rfind("ready ", 0) == 0 ? 0 : log.find("\nready ");
    if (at == std::string::npos) return false;
    port_ = std::atoi(log.c_str() + log.find("ready ", at) + 6);
    return port_ > 0;
  };
  WaitResult r = WaitUntilReady(ready, {process_.get()}, std::chrono::seconds(15));
  if (r != WaitResult::kReady) {
    std::string message = "fault_proxy.py did not start:\n" + Tail(dir_ / "proxy.log");
    ADD_FAILURE() << message;
    throw std::runtime_error(message);
  }
  endpoint_ = "http://127.0.0.1:" + std::to_string(port_) + path;
}

FaultProxy::~FaultProxy() { process_.reset(); }

void FaultProxy::SetFailureRate(double rate) {
  std::ostringstream s;
  s.precision(17);
  s << rate << "\n";
  std::string control = dir_ / "failure-rate";
  WriteFile(control + ".tmp", s.str());
  fs::rename(control + ".tmp", control);
}

std::string FaultProxy::Log() const { return ReadFile(dir_ / "proxy.log"); }

std::map<std::string, int> FaultProxy::fault_counts() const {
  std::map<std::string, int> counts;
  std::istringstream lines(Log());
  std::string line;
  while (std::getline(lines, line)) {
    auto at = line.find(" fault=");
    if (line.rfind("fault_proxy #", 0) != 0 || at == std::string::npos) continue;
    std::string kind = line.substr(at + 7);
    if (kind != "none") ++counts[kind];
  }
  return counts;
}

int FaultProxy::requests() const {
  int n = 0;
  std::istringstream lines(Log());
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("fault_proxy #", 0) == 0 && line.find(" fault=") != std::string::npos) ++n;
  return n;
}

int FaultProxy::faults_injected() const {
  int n = 0;
  for (const auto& [kind, count] : fault_counts()) n += count;
  return n;
}

}  // namespace pgvault::test
