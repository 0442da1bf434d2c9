// Which paths a backup's file list may hold. Restore runs as root and writes
// every entry with the owner and mode the list gives, so a list from a
// repository someone else can write must not be able to name a place outside
// the restore target: no "..", no absolute paths, nothing beneath a link.
#pragma once

#include <string>
#include <vector>

#include "repo/backup_manifest.h"

namespace pgvault {

// Every path is relative, '/'-separated, without empty, "." or ".."
// components ("." alone is the data directory itself), and appears once.
// Links are leaves: no entry may lie beneath one, except beneath a tablespace
// link pg_tblspc/OID, whose contents restore writes beneath the tablespace's
// own destination. A link named postgresql.auto.conf is refused too: restore
// writes recovery settings into that file. Throws IntegrityError naming
// `where` (the file list) and the entry.
void CheckFileListPaths(const std::vector<FileEntry>& files, const std::string& where);

// The tablespaces of `manifest` match its file list: every link
// pg_tblspc/OID is a tablespace of the manifest (else restore would create
// the link with the list's target and write the tablespace through it), and
// every tablespace location is an absolute path without "." or "..".
void CheckTablespaceEntries(const std::vector<FileEntry>& files, const BackupManifest& manifest,
                            const std::string& where);

}  // namespace pgvault
