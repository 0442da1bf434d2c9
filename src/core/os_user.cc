#include "core/os_user.h"

#include <grp.h>
#include <pwd.h>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace pgvault {

namespace {
std::mutex cache_mutex;
std::unordered_map<uid_t, std::string> user_cache;
std::unordered_map<gid_t, std::string> group_cache;
std::unordered_map<std::string, std::optional<uid_t>> uid_cache;
std::unordered_map<std::string, std::optional<gid_t>> gid_cache;
}  // namespace

std::string UserName(uid_t uid) {
  std::lock_guard lock(cache_mutex);
  auto it = user_cache.find(uid);
  if (it != user_cache.end()) return it->second;
  std::vector<char> buffer(16384);
  passwd pw, *result = nullptr;
  std::string name;
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &result) == 0 && result) name = result->pw_name;
  user_cache[uid] = name;
  return name;
}

std::string GroupName(gid_t gid) {
  std::lock_guard lock(cache_mutex);
  auto it = group_cache.find(gid);
  if (it != group_cache.end()) return it->second;
  std::vector<char> buffer(16384);
  group gr, *result = nullptr;
  std::string name;
  if (getgrgid_r(gid, &gr, buffer.data(), buffer.size(), &result) == 0 && result) name = result->gr_name;
  group_cache[gid] = name;
  return name;
}

// Cached: restore looks up the same one or two names for every file, and
// each uncached lookup reads /etc/passwd.
std::optional<uid_t> UserId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::lock_guard lock(cache_mutex);
  auto it = uid_cache.find(name);
  if (it != uid_cache.end()) return it->second;
  std::vector<char> buffer(16384);
  passwd pw, *result = nullptr;
  std::optional<uid_t> id;
  if (getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &result) == 0 && result) id = result->pw_uid;
  uid_cache[name] = id;
  return id;
}

std::optional<gid_t> GroupId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::lock_guard lock(cache_mutex);
  auto it = gid_cache.find(name);
  if (it != gid_cache.end()) return it->second;
  std::vector<char> buffer(16384);
  group gr, *result = nullptr;
  std::optional<gid_t> id;
  if (getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &result) == 0 && result) id = result->gr_gid;
  gid_cache[name] = id;
  return id;
}

}  // namespace pgvault
