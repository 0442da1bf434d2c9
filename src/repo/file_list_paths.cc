#include "repo/file_list_paths.h"

#include <algorithm>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {

namespace {

constexpr std::string_view kTablespaceDir = "pg_tblspc/";

// The path as it can be printed: a crafted one may hold control characters
// (a NUL would cut the message short, a newline forge a line of it).
std::string Printable(const std::string& path) {
  std::string out;
  for (unsigned char c : path) out += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, c);
  return out;
}

std::string Unsafe(const std::string& where, const std::string& path, const std::string& why) {
  return fmt::format("{} is unsafe: entry '{}' {}; restore refuses this backup (a file list pgvault writes never "
                     "holds such an entry: the repository was altered); restore another backup",
                     where, Printable(path), why);
}

// "pg_tblspc/16385" -> true: the only place PostgreSQL keeps links whose
// contents belong to the cluster.
bool IsTablespaceLink(std::string_view path) {
  if (!path.starts_with(kTablespaceDir)) return false;
  std::string_view oid = path.substr(kTablespaceDir.size());
  return !oid.empty() && oid.size() <= 10 && std::all_of(oid.begin(), oid.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

// Why `path` is not a plain relative path, or "" when it is.
std::string PathProblem(const std::string& path) {
  if (path.empty()) return "has an empty path";
  if (path == ".") return "";
  if (path.find('\0') != std::string::npos) return "has a NUL byte in its path";
  if (path.front() == '/') return "is an absolute path";
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view part = std::string_view(path).substr(start, slash == std::string::npos ? slash : slash - start);
    if (part.empty()) return "has an empty path component";
    if (part == "..") return "leaves the data directory ('..')";
    if (part == ".") return "has a '.' path component";
    if (slash == std::string::npos) return "";
    start = slash + 1;
  }
}

}  // namespace

void CheckFileListPaths(const std::vector<FileEntry>& files, const std::string& where) {
  std::set<std::string> seen, links;
  for (const auto& f : files) {
    std::string problem = PathProblem(f.path);
    if (!problem.empty()) throw IntegrityError(Unsafe(where, f.path, problem));
    if (!seen.insert(f.path).second) throw IntegrityError(Unsafe(where, f.path, "appears twice"));
    if (f.path == "." && f.type != FileType::kDirectory)
      throw IntegrityError(Unsafe(where, f.path, "is the data directory itself but not a directory"));
    if (f.type == FileType::kSymlink) {
      if (f.link_target.empty() || f.link_target.find('\0') != std::string::npos)
        throw IntegrityError(Unsafe(where, f.path, "is a link without a valid target"));
      if (f.path == "postgresql.auto.conf")
        throw IntegrityError(Unsafe(where, f.path, "is a link, and restore writes recovery settings into this file"));
      links.insert(f.path);
    }
  }
  // Entries beneath a link: a link's ancestors are checked, not the order of
  // the list, so a link listed after its "contents" is caught as well.
  for (const auto& f : files) {
    for (size_t slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1)) {
      std::string ancestor = f.path.substr(0, slash);
      if (!links.count(ancestor)) continue;
      if (IsTablespaceLink(ancestor)) break;  // written beneath the tablespace's destination
      throw IntegrityError(
          Unsafe(where, f.path, fmt::format("lies beneath the link '{}': restore would write through it", ancestor)));
    }
  }
}

void CheckTablespaceEntries(const std::vector<FileEntry>& files, const BackupManifest& manifest,
                            const std::string& where) {
  std::set<std::string> tablespaces;
  for (const auto& t : manifest.tablespaces) {
    tablespaces.insert(std::string(kTablespaceDir) + std::to_string(t.oid));
    const std::string& l = t.location;
    std::string problem = l.empty() || l.front() != '/' ? "is not an absolute path"
                          : l == "/"                   ? "is the root directory"
                                                       : PathProblem(l.substr(1));
    if (!problem.empty())
      throw IntegrityError(fmt::format("backup {}: manifest is unsafe: tablespace {} location '{}' {}; restore refuses "
                                       "this backup (the repository was altered); restore another backup",
                                       manifest.id, t.oid, l, problem));
  }
  for (const auto& f : files)
    if (f.type == FileType::kSymlink && IsTablespaceLink(f.path) && !tablespaces.count(f.path))
      throw IntegrityError(Unsafe(where, f.path,
                                  fmt::format("is a tablespace link, but backup {} has no tablespace {}", manifest.id,
                                              f.path.substr(kTablespaceDir.size()))));
}

}  // namespace pgvault
