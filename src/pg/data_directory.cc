#include "pg/data_directory.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"

namespace pgvault {

namespace {

// Directories kept (empty) in the backup, because PostgreSQL expects them but
// their contents are runtime state.
const std::set<std::string> kExcludeContents = {
    "pg_wal",      "pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial",
    "pg_snapshots", "pg_stat_tmp", "pg_subtrans",
};

// Files never copied, at the top level of PGDATA.
const std::set<std::string> kExcludeTopFiles = {
    "postmaster.pid",   "postmaster.opts", "postgresql.auto.conf.tmp", "current_logfiles.tmp",
    "backup_label",     "tablespace_map",  "backup_label.old",         "standby.signal",
    "recovery.signal",  "recovery.conf",   "backup_manifest",
};

bool IsTempName(const std::string& name) { return name.starts_with("pgsql_tmp"); }

struct Walker {
  std::vector<SourceEntry> out;

  static bool Stat(const std::string& path, struct stat* st) {
    if (::lstat(path.c_str(), st) == 0) return true;
    if (errno == ENOENT) return false;  // vanished: PostgreSQL dropped it meanwhile
    throw Error(fmt::format("cannot stat {}: {}", path, ErrnoText(errno)));
  }

  static SourceEntry Entry(const std::string& rel, const std::string& abs, const struct stat& st) {
    SourceEntry e;
    e.path = rel;
    e.absolute = abs;
    e.mode = st.st_mode & 07777;
    e.mtime = st.st_mtime;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    if (S_ISDIR(st.st_mode)) e.kind = SourceEntry::Kind::kDirectory;
    else if (S_ISLNK(st.st_mode)) e.kind = SourceEntry::Kind::kSymlink;
    else e.size = static_cast<uint64_t>(st.st_size);
    return e;
  }

  // `database_dir`: this directory holds relation files (base/<oid>, global,
  // pg_tblspc/<oid>/<version>/<oid>).
  void WalkDirectory(const std::string& rel, const std::string& abs, bool database_dir, int tablespace_depth) {
    DIR* dir = ::opendir(abs.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT) return;
      throw Error(fmt::format("cannot open directory {}: {}", abs, ErrnoText(errno)));
    }
    std::vector<std::string> names;
    while (dirent* d = ::readdir(dir)) {
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);

    // Unlogged relations: only their init fork is kept (PostgreSQL resets them
    // from it at recovery), as basebackup.c does.
    std::set<std::string> unlogged;
    if (database_dir) {
      for (const auto& n : names)
        if (n.ends_with("_init")) unlogged.insert(n.substr(0, n.size() - 5));
    }

    for (const auto& name : names) {
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      std::string child_abs = abs + "/" + name;
      if (rel.empty() && kExcludeTopFiles.count(name)) continue;
      if (name == "pg_internal.init" || IsTempName(name)) continue;
      if (database_dir && !unlogged.empty() && !name.ends_with("_init")) {
        std::string base = name.substr(0, name.find_first_of("._"));
        if (unlogged.count(base)) continue;
      }
      struct stat st;
      if (!Stat(child_abs, &st)) continue;
      SourceEntry e = Entry(child_rel, child_abs, st);

      if (rel == "pg_tblspc" && S_ISLNK(st.st_mode)) {
        // A tablespace: keep the link, and walk its target under this path.
        char target[4096];
        ssize_t n = ::readlink(child_abs.c_str(), target, sizeof target - 1);
        if (n < 0) throw Error(fmt::format("cannot read link {}: {}", child_abs, ErrnoText(errno)));
        target[n] = '\0';
        e.link_target = target;
        out.push_back(e);
        WalkDirectory(child_rel, child_abs, false, 1);
        continue;
      }
      if (rel.empty() && name == "pg_wal") {
        // pg_wal may be a link to another volume; it is stored as a plain
        // directory and its contents come from the WAL copy.
        e.kind = SourceEntry::Kind::kDirectory;
        struct stat target_st;
        if (S_ISLNK(st.st_mode) && ::stat(child_abs.c_str(), &target_st) == 0) e.mode = target_st.st_mode & 07777;
        out.push_back(e);
        SourceEntry status = e;
        status.path = "pg_wal/archive_status";
        out.push_back(status);
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        out.push_back(e);
        if (rel.empty() && kExcludeContents.count(name)) continue;
        bool child_is_db = (rel.empty() && name == "global") || rel == "base" || tablespace_depth == 2;
        WalkDirectory(child_rel, child_abs, child_is_db, tablespace_depth ? tablespace_depth + 1 : 0);
        continue;
      }
      if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlink(child_abs.c_str(), target, sizeof target - 1);
        if (n < 0) continue;
        target[n] = '\0';
        e.link_target = target;
        out.push_back(e);
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;  // sockets, fifos: not data
      uint32_t segment = 0;
      if (database_dir && IsRelationFileName(name, &segment)) {
        e.checksummed = true;
        e.segment_number = segment;
      }
      out.push_back(e);
    }
  }
};

}  // namespace

bool IsRelationFileName(const std::string& name, uint32_t* segment) {
  size_t i = 0;
  while (i < name.size() && isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == 0) return false;
  if (i < name.size() && name[i] == '_') {
    std::string fork;
    size_t j = i + 1;
    while (j < name.size() && name[j] != '.') ++j;
    fork = name.substr(i + 1, j - i - 1);
    if (fork != "fsm" && fork != "vm" && fork != "init") return false;
    i = j;
  }
  uint32_t seg = 0;
  if (i < name.size()) {
    if (name[i] != '.' || i + 1 == name.size()) return false;
    for (size_t j = i + 1; j < name.size(); ++j) {
      if (!isdigit(static_cast<unsigned char>(name[j]))) return false;
      seg = seg * 10 + static_cast<uint32_t>(name[j] - '0');
    }
  }
  if (segment) *segment = seg;
  return true;
}

std::vector<SourceEntry> ScanDataDirectory(const std::string& pgdata) {
  Walker walker;
  walker.WalkDirectory("", pgdata, false, 0);
  return walker.out;
}

}  // namespace pgvault
