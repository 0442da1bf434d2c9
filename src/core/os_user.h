// Names of OS users and groups, for recording and restoring file ownership.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace pgvault {

std::string UserName(uid_t uid);   // "" when unknown
std::string GroupName(gid_t gid);  // "" when unknown
std::optional<uid_t> UserId(const std::string& name);
std::optional<gid_t> GroupId(const std::string& name);

}  // namespace pgvault
