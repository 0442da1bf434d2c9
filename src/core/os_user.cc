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

std::optional<uid_t> UserId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::vector<char> buffer(16384);
  passwd pw, *result = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &result) == 0 && result) return result->pw_uid;
  return std::nullopt;
}

std::optional<gid_t> GroupId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::vector<char> buffer(16384);
  group gr, *result = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &result) == 0 && result) return result->gr_gid;
  return std::nullopt;
}

}  // namespace pgvault
