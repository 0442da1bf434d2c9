// Copying a directory tree file by file with FICLONE (a reflink: the copy
// shares extents with the source until either is written), keeping modes,
// owners, times and symlinks. The reflink driver's snapshot and every
// driver's clone onto another filesystem use it.
#pragma once

#include <string>

namespace pgvault {

struct TreeCloneOptions {
  // Fall back to copying bytes when a file cannot be cloned (another
  // filesystem, no reflink support). Off for snapshots: a "snapshot" that is
  // secretly a full copy would surprise everyone.
  bool allow_copy = false;
  // The source is in use (a running PostgreSQL): files that vanish during the
  // walk are skipped, and global/pg_control is cloned last, as pg_basebackup
  // does, so that it is no older than any data file.
  bool source_in_use = false;
};

// Clones `source` into `target` (absent or an empty directory). Returns
// "reflink" or, when any file had to be copied, "copy".
std::string CloneTree(const std::string& source, const std::string& target, const TreeCloneOptions& options);

// Removes a tree (rm -rf), an Error naming the path on failure.
void RemoveTree(const std::string& path);

}  // namespace pgvault
