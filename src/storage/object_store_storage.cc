#include "storage/object_store_storage.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/process_identity.h"
#include "core/test_pause.h"

namespace pgvault {

namespace {

// Writes one object: a single PUT when it fits in a part, else a multipart
// upload whose parts go out in the background, one at a time, while the
// caller fills the next (so a backup worker compresses while its last part
// uploads). Memory: two parts at most.
class ObjectStoreWriter : public ObjectWriter {
 public:
  ObjectStoreWriter(ObjectStore& store, std::string key, size_t part_size)
      : store_(store), key_(std::move(key)), part_size_(part_size) {}

  ~ObjectStoreWriter() override {
    // Not committed: let the part in flight finish (its error no longer
    // matters), then the upload's destructor aborts it.
    if (in_flight_.valid()) {
      try {
        in_flight_.get();
      } catch (const std::exception&) {
      }
    }
  }

  void Append(std::string_view data) override {
    written_ += data.size();
    while (!data.empty()) {
      size_t take = std::min(data.size(), part_size_ - buffer_.size());
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
      // A full part goes out only once more data follows, so that the last
      // part is never empty and a small object stays a single PUT.
      if (buffer_.size() == part_size_ && !data.empty()) FlushPart();
    }
  }

  void Commit() override { Finish(false); }
  bool CommitIfAbsent() override { return Finish(true); }
  uint64_t BytesWritten() const override { return written_; }

 private:
  void WaitForPart() {
    if (in_flight_.valid()) in_flight_.get();  // rethrows the upload's error
  }

  void FlushPart() {
    WaitForPart();
    if (!upload_) upload_ = store_.StartMultipart(key_);
    int number = ++parts_;
    in_flight_ = std::async(std::launch::async, [this, number, part = std::move(buffer_)] {
      upload_->UploadPart(number, part);
    });
    buffer_ = std::string();
    buffer_.reserve(part_size_);
  }

  bool Finish(bool if_absent) {
    TestStorageDelay();
    if (!upload_) {
      bool stored = store_.Put(key_, buffer_, if_absent);
      buffer_ = std::string();
      return stored;
    }
    if (!buffer_.empty()) FlushPart();
    WaitForPart();
    bool stored = upload_->Complete(if_absent);
    upload_.reset();  // aborts the parts when not stored
    return stored;
  }

  ObjectStore& store_;
  std::string key_;
  size_t part_size_;
  std::string buffer_;
  std::unique_ptr<MultipartUpload> upload_;  // destroyed unfinished: aborted
  std::future<void> in_flight_;              // the part being uploaded
  int parts_ = 0;
  uint64_t written_ = 0;
};

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatUnix(int64_t seconds) {
  std::time_t t = seconds;
  std::tm utc;
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buffer;
}

// The lease object: who holds the lock, and until when unless renewed. Every
// change after the first write is conditional on the version last seen
// (If-Match), so two processes cannot both take over an expired lease, and a
// renewal never overwrites a lease someone else took.
class LeaseLock : public StorageLock {
 public:
  LeaseLock(ObjectStore& store, std::string key, std::string location, std::string holder, int lease_seconds)
      : store_(store), key_(std::move(key)), location_(std::move(location)), holder_(std::move(holder)),
        lease_seconds_(lease_seconds), me_(CurrentProcess()) {
    std::random_device rd;
    token_ = fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
  }

  void Acquire() {
    if (auto existing = store_.GetVersioned(key_)) {
      auto lease = Parse(existing->data);
      ProcessIdentity owner{lease.value("host", ""), lease.value("pid", int64_t{0}),
                            lease.value("start_ticks", uint64_t{0}), lease.value("pid_namespace", "")};
      int64_t expires = lease.value("expires", int64_t{0});
      bool gone = owner.pid > 0 && !ProcessAlive(owner);
      if (!gone && expires > UnixNow())
        throw LockHeldError(fmt::format("repository {} is locked by another pgvault process ({}); wait for it to "
                                        "finish (if that process is gone, the lock expires at {})",
                                        location_, lease.value("holder", "holder unknown"), FormatUnix(expires)),
                            lease.value("holder", ""));
      spdlog::warn("repository {}: taking over the lock of a pgvault process that is gone ({})", location_,
                   lease.value("holder", "holder unknown"));
      // As below, the token read back decides: a takeover whose response was
      // lost and that was retried answers "precondition failed" to its own
      // success (seen under injected faults: "locked ... at the same moment").
      store_.PutIfMatch(key_, Content(), existing->etag);
    } else {
      // Whatever the conditional write answers, the token read back decides:
      // libcurl may resend a PUT whose connection died, and then our own
      // first write answers "exists".
      store_.Put(key_, Content(), true);
    }
    auto mine = store_.GetVersioned(key_);
    if (!mine || Parse(mine->data).value("token", "") != token_)
      throw Race(mine ? Parse(mine->data).value("holder", "") : std::string());
    etag_ = mine->etag;
    renewed_at_ = std::chrono::steady_clock::now();
    renewer_ = std::thread([this] { Renew(); });
  }

  void CheckHeld() const override {
    if (lost_)
      throw Error(fmt::format("repository {}: the lock was lost while held (it could not be renewed in time, or "
                              "another process took it over): not committing",
                              location_));
  }

  ~LeaseLock() override {
    if (!renewer_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    renewer_.join();
    if (lost_) return;
    try {
      auto current = store_.GetVersioned(key_);
      if (current && Parse(current->data).value("token", "") == token_) store_.Delete(key_);
    } catch (const std::exception& e) {
      spdlog::warn("repository {}: could not release the lock ({}); it expires by itself", location_, e.what());
    }
  }

 private:
  // Another process wrote its lease between our look and our write: it holds
  // the lock now (a LockHeldError, so that a backup waits for a wal-push
  // recording the system identifier, as when it finds that push's lease).
  LockHeldError Race(const std::string& holder) const {
    return LockHeldError(
        fmt::format("repository {} was locked by another pgvault process at the same moment ({}); try again",
                    location_, holder.empty() ? "holder unknown" : holder),
        holder);
  }

  static nlohmann::json Parse(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();  // damaged: treated as expired
  }

  std::string Content() const {
    nlohmann::json j = {{"holder", holder_},
                        {"token", token_},
                        {"host", me_.host},
                        {"pid", me_.pid},
                        {"start_ticks", me_.start_ticks},
                        {"pid_namespace", me_.pid_namespace},
                        {"expires", UnixNow() + lease_seconds_}};
    return j.dump() + "\n";
  }

  void Renew() {
    const auto lease = std::chrono::seconds(lease_seconds_);
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, lease / 3, [this] { return stop_; })) return;
      }
      // No mutex held during I/O: releasing the lock must not wait for a
      // renewal's retries.
      try {
        auto etag = store_.PutIfMatch(key_, Content(), etag_);
        if (!etag) {
          spdlog::error("repository {}: the lock was taken over by another process while held", location_);
          lost_ = true;
          return;
        }
        etag_ = *etag;
        renewed_at_ = std::chrono::steady_clock::now();
      } catch (const std::exception& e) {
        spdlog::warn("repository {}: could not renew the lock ({}); retrying", location_, e.what());
      }
      // Past most of the lease without a renewal, another process may take
      // it over: from now on this process must not commit.
      if (std::chrono::steady_clock::now() - renewed_at_ > lease * 5 / 6) {
        spdlog::error("repository {}: the lock could not be renewed for {} s; giving it up", location_,
                      lease_seconds_ * 5 / 6);
        lost_ = true;
        return;
      }
    }
  }

  ObjectStore& store_;
  std::string key_, location_, holder_, token_, etag_;
  int lease_seconds_;
  ProcessIdentity me_;
  std::chrono::steady_clock::time_point renewed_at_;
  std::thread renewer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::atomic<bool> lost_{false};
};

}  // namespace

ObjectStoreStorage::ObjectStoreStorage(std::unique_ptr<ObjectStore> store, std::string location, std::string prefix,
                                       ObjectStoreStorageOptions options)
    : store_(std::move(store)), location_(std::move(location)), prefix_(std::move(prefix)), options_(options) {
  options_.part_size = std::max(options_.part_size, store_->MinimumPartSize());
}

bool ObjectStoreStorage::Exists(const std::string& path) { return store_->Head(Key(path)).has_value(); }

std::string ObjectStoreStorage::Read(const std::string& path) {
  try {
    return store_->Get(Key(path), std::nullopt);
  } catch (const NotFoundError&) {
    throw NotFoundError(fmt::format("{}/{}: no such object", location_, path));
  }
}

std::shared_ptr<const std::string> ObjectStoreStorage::Window(const std::string& key, uint64_t start) {
  auto window = std::make_shared<const std::string>(store_->Get(key, std::make_pair(start, uint64_t{options_.read_ahead})));
  std::lock_guard lock(cache_mutex_);
  WindowKey id{key, start};
  if (auto it = window_index_.find(id); it != window_index_.end()) {
    windows_.erase(it->second);
    window_index_.erase(it);
  }
  windows_.emplace_front(id, window);
  window_index_[id] = windows_.begin();
  while (windows_.size() > options_.read_ahead_windows) {
    window_index_.erase(windows_.back().first);
    windows_.pop_back();
  }
  return window;
}

std::string ObjectStoreStorage::ReadRange(const std::string& path, uint64_t offset, uint64_t length) {
  std::string key = Key(path);
  auto truncated = [&](uint64_t found) {
    return IntegrityError(fmt::format("{}/{} is truncated: wanted {} bytes at offset {}, found {}", location_, path,
                                      length, offset, found));
  };
  try {
    if (options_.read_ahead == 0 || length > options_.read_ahead / 2) {
      std::string data = store_->Get(key, std::make_pair(offset, length));
      if (data.size() != length) throw truncated(data.size());
      return data;
    }
    {
      std::lock_guard lock(cache_mutex_);
      for (auto it = windows_.begin(); it != windows_.end(); ++it) {
        const auto& [id, window] = *it;
        if (id.first != key || id.second > offset || offset + length > id.second + window->size()) continue;
        std::string out = window->substr(offset - id.second, length);
        windows_.splice(windows_.begin(), windows_, it);
        return out;
      }
    }
    auto window = Window(key, offset);
    if (window->size() < length) throw truncated(window->size());
    return window->substr(0, length);
  } catch (const NotFoundError&) {
    throw NotFoundError(fmt::format("{}/{}: no such object", location_, path));
  }
}

uint64_t ObjectStoreStorage::Size(const std::string& path) {
  auto size = store_->Head(Key(path));
  if (!size) throw NotFoundError(fmt::format("{}/{}: no such object", location_, path));
  return *size;
}

std::unique_ptr<ObjectWriter> ObjectStoreStorage::Create(const std::string& path) {
  return std::make_unique<ObjectStoreWriter>(*store_, Key(path), options_.part_size);
}

std::vector<ObjectInfo> ObjectStoreStorage::List(const std::string& prefix) {
  std::string root = prefix_.empty() ? "" : prefix_ + "/";
  std::string wanted = root + (prefix.empty() ? "" : prefix + "/");
  std::vector<ObjectInfo> out;
  std::string next;
  do {
    ListPage page = store_->List(wanted, next);
    for (auto& object : page.objects) {
      if (!object.path.starts_with(wanted)) continue;  // a service that ignores the prefix
      object.path.erase(0, root.size());
      out.push_back(std::move(object));
    }
    next = std::move(page.next);
  } while (!next.empty());
  return out;
}

void ObjectStoreStorage::Remove(const std::string& path) {
  std::string key = Key(path);
  {
    std::lock_guard lock(cache_mutex_);
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (it->first.first == key) {
        window_index_.erase(it->first);
        it = windows_.erase(it);
      } else {
        ++it;
      }
    }
  }
  store_->Delete(key);
}

size_t ObjectStoreStorage::RemoveUncommitted(const std::string& prefix) {
  return store_->AbortIncompleteUploads(Key(prefix) + "/");
}

std::unique_ptr<StorageLock> ObjectStoreStorage::Lock(const std::string& name, const std::string& holder_info) {
  auto lock = std::make_unique<LeaseLock>(*store_, Key(name), location_, holder_info, options_.lock_lease_seconds);
  lock->Acquire();
  return lock;
}

}  // namespace pgvault
