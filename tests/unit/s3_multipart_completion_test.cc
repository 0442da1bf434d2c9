// S3 multipart completion whose reply is lost: the service completed the
// upload, the answer never arrived, the driver retries, and the retry finds
// the upload gone (404 NoSuchUpload). The driver must then look at the
// object (HEAD, itself retried) and take the completion as done when the
// object is there with our size and our multipart ETag, and fail otherwise.
//
// The peer is a scripted S3 on loopback (a handful of requests, one per
// connection), so that the exact sequence of answers is under the test's
// control; the integration tests (ObjectStoreFaults) run real stores behind
// a fault proxy.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/hex.h"
#include "crypto/md5.h"
#include "storage/object_store.h"
#include "storage/object_store_location.h"
#include "storage/s3_store.h"
#include "storage/storage_settings.h"

using namespace pgvault;

namespace {

struct Request {
  std::string method, target, body;
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool drop = false;  // close the connection without answering: a lost reply
};

std::string Hex(std::string_view raw) {
  return HexEncode({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
}

// A minimal HTTP/1.1 responder on 127.0.0.1: one request per connection
// (every answer says Connection: close), bodies by Content-Length only.
class LoopbackResponder {
 public:
  explicit LoopbackResponder(std::function<Reply(const Request&)> handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 16) != 0)
      throw std::runtime_error("cannot listen on loopback");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackResponder() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }
  std::vector<std::string> Log() {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      Handle(fd);
      ::close(fd);
    }
  }
  void Handle(int fd) {
    std::string data;
    char buf[65536];
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, n);
    }
    std::string head = data.substr(0, head_end);
    size_t length = 0;
    for (size_t at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) {
      std::string line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
      std::string lower;
      for (char c : line) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.starts_with("content-length:")) length = std::stoul(line.substr(15));
    }
    std::string body = data.substr(head_end + 4);
    while (body.size() < length) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      body.append(buf, n);
    }
    Request request;
    size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    request.method = head.substr(0, sp1);
    request.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    request.body = body;
    Reply reply = handler_(request);
    {
      std::lock_guard lock(mutex_);
      log_.push_back(fmt::format("{} {} -> {}", request.method, request.target,
                                 reply.drop ? std::string("dropped") : std::to_string(reply.status)));
    }
    if (reply.drop) return;
    std::string out = fmt::format("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    bool has_length = false;
    for (const auto& [name, value] : reply.headers) {
      out += name + ": " + value + "\r\n";
      if (name == "Content-Length") has_length = true;
    }
    if (!has_length) out += fmt::format("Content-Length: {}\r\n", reply.body.size());
    out += "\r\n";
    if (request.method != "HEAD") out += reply.body;
    ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  }

  std::function<Reply(const Request&)> handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> log_;
};

// A scripted S3 bucket holding one multipart upload to "repo/packs/x.pack".
// The completion is carried out (the object appears) and its reply lost;
// every later completion answers NoSuchUpload, as S3 does once an upload is
// completed.
struct ScriptedS3 {
  int head_failures = 0;             // HEADs answered 500 before the real answer
  bool complete_stores_object = true;
  std::optional<std::string> stored_etag;  // overrides the S3 multipart ETag of what was completed
  std::optional<uint64_t> stored_size;     // overrides the size of what was completed

  std::mutex mutex;
  std::vector<std::string> part_md5s;  // raw
  uint64_t parts_size = 0;
  bool completed = false;
  std::optional<std::pair<uint64_t, std::string>> object;  // size, ETag

  static std::string NoSuchUpload() {
    return "<?xml version=\"1.0\"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not "
           "exist.</Message></Error>";
  }

  Reply operator()(const Request& r) {
    std::lock_guard lock(mutex);
    bool on_object = r.target.starts_with("/bucket/repo/packs/x.pack");
    if (!on_object) return {404, {}, "<Error><Code>NoSuchKey</Code></Error>"};
    if (r.method == "POST" && r.target.find("uploads") != std::string::npos)
      return {200, {}, "<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>"};
    if (r.method == "PUT" && r.target.find("partNumber=") != std::string::npos) {
      part_md5s.push_back(Md5(r.body));
      parts_size += r.body.size();
      return {200, {{"ETag", "\"" + Hex(part_md5s.back()) + "\""}}, ""};
    }
    if (r.method == "POST" && r.target.find("uploadId=u-1") != std::string::npos) {
      if (completed) return {404, {}, NoSuchUpload()};
      completed = true;
      if (complete_stores_object) {
        std::string all;
        for (const auto& m : part_md5s) all += m;
        std::string etag = fmt::format("\"{}-{}\"", Hex(Md5(all)), part_md5s.size());
        object = {stored_size.value_or(parts_size), stored_etag.value_or(etag)};
      }
      Reply lost;
      lost.drop = true;  // done, but the client never hears of it
      return lost;
    }
    if (r.method == "HEAD") {
      if (head_failures > 0) {
        --head_failures;
        return {500, {}, ""};
      }
      if (!object) return {404, {}, ""};
      return {200, {{"Content-Length", std::to_string(object->first)}, {"ETag", object->second}}, ""};
    }
    if (r.method == "DELETE") return {404, {}, NoSuchUpload()};  // abort after completion
    return {400, {}, "<Error><Code>Unexpected</Code></Error>"};
  }
};

std::unique_ptr<ObjectStore> OpenScripted(int port) {
  auto location = ParseObjectStoreLocation("s3://bucket/repo");
  StorageSettings settings;
  settings.s3_endpoint = fmt::format("http://127.0.0.1:{}", port);
  settings.stall_timeout_seconds = 5;
  return OpenS3Store(*location, settings,
                     CredentialSource({{"AWS_ACCESS_KEY_ID", "test"}, {"AWS_SECRET_ACCESS_KEY", "secret"}}));
}

// Uploads two parts and completes; returns Complete()'s answer.
bool UploadTwoParts(ObjectStore& store, bool if_absent) {
  auto upload = store.StartMultipart("repo/packs/x.pack");
  upload->UploadPart(1, std::string(1000, 'a'));
  upload->UploadPart(2, std::string(500, 'b'));
  return upload->Complete(if_absent);
}

int Count(const std::vector<std::string>& log, const std::string& prefix) {
  int n = 0;
  for (const auto& line : log) n += line.starts_with(prefix);
  return n;
}

std::string Joined(const std::vector<std::string>& log) {
  std::string out;
  for (const auto& line : log) out += line + "\n";
  return out;
}

}  // namespace

TEST(S3MultipartCompletion, RetryAnsweringNoSuchUploadIsDoneWhenTheObjectIsOurs) {
  ScriptedS3 s3;
  LoopbackResponder server(std::ref(s3));
  auto store = OpenScripted(server.port());
  EXPECT_TRUE(UploadTwoParts(*store, false)) << Joined(server.Log());
  auto log = server.Log();
  EXPECT_EQ(Count(log, "POST /bucket/repo/packs/x.pack?uploadId=u-1"), 2) << Joined(log);
  EXPECT_EQ(Count(log, "HEAD /bucket/repo/packs/x.pack -> 200"), 1) << Joined(log);
}

TEST(S3MultipartCompletion, TheHeadAfterNoSuchUploadIsRetriedWhenItFailsOnce) {
  ScriptedS3 s3;
  s3.head_failures = 1;
  LoopbackResponder server(std::ref(s3));
  auto store = OpenScripted(server.port());
  EXPECT_TRUE(UploadTwoParts(*store, false)) << Joined(server.Log());
  auto log = server.Log();
  EXPECT_EQ(Count(log, "HEAD /bucket/repo/packs/x.pack -> 500"), 1) << Joined(log);
  EXPECT_EQ(Count(log, "HEAD /bucket/repo/packs/x.pack -> 200"), 1) << Joined(log);
}

TEST(S3MultipartCompletion, CommitIfAbsentKnowsItsOwnCompletionByTheETag) {
  ScriptedS3 s3;
  LoopbackResponder server(std::ref(s3));
  auto store = OpenScripted(server.port());
  // Our parts' multipart ETag: this object is our completion, not someone
  // else's object in the way.
  EXPECT_TRUE(UploadTwoParts(*store, true)) << Joined(server.Log());
}

TEST(S3MultipartCompletion, NoSuchUploadStaysAnErrorWhenTheObjectIsMissingOrNotOurs) {
  {
    SCOPED_TRACE("object missing");
    ScriptedS3 s3;
    s3.complete_stores_object = false;
    LoopbackResponder server(std::ref(s3));
    auto store = OpenScripted(server.port());
    try {
      UploadTwoParts(*store, false);
      ADD_FAILURE() << "completion without an object taken as done: " << Joined(server.Log());
    } catch (const ObjectStoreError& e) {
      EXPECT_NE(std::string(e.what()).find("NoSuchUpload"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("COMPLETE MULTIPART repo/packs/x.pack"), std::string::npos) << e.what();
    }
  }
  {
    SCOPED_TRACE("another size");
    ScriptedS3 s3;
    s3.stored_size = 1499;
    LoopbackResponder server(std::ref(s3));
    auto store = OpenScripted(server.port());
    EXPECT_THROW(UploadTwoParts(*store, false), ObjectStoreError);
  }
  {
    SCOPED_TRACE("same size, another multipart ETag");
    ScriptedS3 s3;
    s3.stored_etag = "\"0123456789abcdef0123456789abcdef-2\"";
    LoopbackResponder server(std::ref(s3));
    auto store = OpenScripted(server.port());
    EXPECT_THROW(UploadTwoParts(*store, false), ObjectStoreError);
    // Commit-if-absent: something else is in the way; the caller compares.
    ScriptedS3 s3b;
    s3b.stored_etag = "\"0123456789abcdef0123456789abcdef-2\"";
    LoopbackResponder server_b(std::ref(s3b));
    auto store_b = OpenScripted(server_b.port());
    EXPECT_FALSE(UploadTwoParts(*store_b, true)) << Joined(server_b.Log());
  }
}
