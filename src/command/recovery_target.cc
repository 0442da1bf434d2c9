#include "command/recovery_target.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/decimal_number.h"
#include "core/error.h"
#include "core/posix_io.h"
#include "pg/wal_segment.h"
#include "repo/repository.h"
#include "storage/object_store_location.h"
#include "storage/storage_settings.h"
#include "wal/wal_archive.h"

namespace pgvault {

namespace {

constexpr Lsn kEndOfTime = ~Lsn{0};

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "<parent tli>\t<switch LSN>\t<reason>" lines; '#' comments and blank lines skipped.
std::vector<TimelineBranch> ParseHistory(const std::string& text, const std::string& where) {
  std::vector<TimelineBranch> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string tli, lsn;
    std::optional<uint64_t> parent;
    if (!(fields >> tli >> lsn) || !(parent = ParseDecimal(tli, std::numeric_limits<uint32_t>::max())) || *parent == 0)
      throw IntegrityError(fmt::format("{}: cannot parse the line '{}'", where, line));
    out.push_back({static_cast<uint32_t>(*parent), ParseLsn(lsn)});
  }
  return out;
}

// The timelines leading to `timeline`, oldest first, each with the LSN where
// it was left (the target timeline itself never ends).
std::vector<TimelineBranch> Ancestry(WalArchive& archive, uint32_t timeline) {
  std::vector<TimelineBranch> out;
  if (timeline > 1) {
    std::string name = fmt::format("{:08X}.history", timeline);
    auto text = archive.Fetch(name);
    if (!text)
      throw Error(fmt::format("timeline {} has no history file ({}) in the archive: it cannot be recovered to", timeline,
                              name));
    out = ParseHistory(*text, "archived " + name);
  }
  out.push_back({timeline, kEndOfTime});
  return out;
}

std::optional<Lsn> EndOnAncestry(const std::vector<TimelineBranch>& ancestry, uint32_t timeline) {
  for (const auto& b : ancestry)
    if (b.timeline == timeline) return b.end;
  return std::nullopt;
}

}  // namespace

std::vector<ArchivedSegment> SegmentsOnAncestry(const std::vector<ArchivedWalFile>& files,
                                                const std::vector<TimelineBranch>& ancestry, uint32_t segment_size) {
  std::vector<ArchivedSegment> out;
  uint64_t per_log = 0x100000000ull / segment_size;
  for (const auto& f : files) {
    if (ClassifyWalFileName(f.name) != WalFileKind::kSegment) continue;
    uint32_t tli = static_cast<uint32_t>(std::stoul(f.name.substr(0, 8), nullptr, 16));
    auto end = EndOnAncestry(ancestry, tli);
    if (!end) continue;
    uint64_t segno = std::stoull(f.name.substr(8, 8), nullptr, 16) * per_log + std::stoull(f.name.substr(16, 8), nullptr, 16);
    // What an ancestor archived after the next timeline branched off is not
    // on the path: once recovery reads the newer timeline it never goes back
    // (PostgreSQL's XLogFileReadAnyTLI), so such a segment must not hide a
    // gap in the newer timeline.
    if (*end != kEndOfTime && (*end == 0 || segno > SegmentNumber(*end - 1, segment_size))) continue;
    out.push_back({tli, segno});
  }
  return out;
}

std::string RecoveryTarget::Describe() const {
  switch (kind) {
    case Kind::kTime: return "time " + text;
    case Kind::kLsn: return "LSN " + text;
    case Kind::kXid: return "transaction " + text;
    case Kind::kName: return "restore point '" + text + "'";
    case Kind::kImmediate: return "the end of the backup (immediate)";
    case Kind::kNone: return "the end of the archive";
  }
  return "";
}

namespace {

// A decimal number of digits only (no sign, space or "0x": PostgreSQL reads
// recovery_target_xid and recovery_target_timeline with strtoul base 0, so
// "0x10" or "010" would mean something else there than here); nullopt if it
// is not one or does not fit 64 bits.
std::optional<uint64_t> DecimalNumber(const std::string& s) {
  if (!AllDigits(s)) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (~uint64_t{0} - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// PostgreSQL's MAXFNAMELEN - 1: pg_create_restore_point and
// recovery_target_name refuse longer names.
constexpr size_t kMaxRestorePointName = 63;

}  // namespace

RecoveryTarget ParseRecoveryTarget(const RecoveryTargetOptions& o) {
  RecoveryTarget t;
  t.wal_prefetch = o.wal_prefetch;
  int given = !o.time.empty() + !o.lsn.empty() + !o.xid.empty() + !o.name.empty() + (o.immediate ? 1 : 0);
  if (given > 1)
    throw UsageError("give at most one of --target-time, --target-lsn, --target-xid, --target-name and "
                     "--target-immediate");
  if (!o.time.empty()) {
    std::string problem;
    auto parsed = ParseTimestampWithZone(o.time, &problem);
    if (!parsed)
      throw UsageError(fmt::format("--target-time '{}': {}; expected a real date and time 'YYYY-MM-DD HH:MM:SS' "
                                   "(hours 00-23), optionally with up to 6 fractional digits '.ffffff', followed by "
                                   "a time zone: Z, +HH, +HH:MM or +HHMM (or with -)",
                                   o.time, problem));
    t.kind = RecoveryTarget::Kind::kTime, t.text = o.time, t.time = *parsed;
  } else if (!o.lsn.empty()) {
    try {
      t.lsn = ParseLsn(o.lsn);
    } catch (const Error&) {
      throw UsageError(fmt::format("--target-lsn '{}': expected an LSN such as 0/16B3748: two hexadecimal numbers of "
                                   "1 to 8 digits separated by '/', nothing else",
                                   o.lsn));
    }
    t.kind = RecoveryTarget::Kind::kLsn, t.text = o.lsn;
  } else if (!o.xid.empty()) {
    auto xid = DecimalNumber(o.xid);
    if (!xid)
      throw UsageError(fmt::format("--target-xid '{}': expected a transaction id as a decimal number of at most 64 "
                                   "bits (up to 18446744073709551615), digits only, as txid_current() returns it",
                                   o.xid));
    // PostgreSQL compares the low 32 bits with each commit's xid; 0, 1 and 2
    // there (invalid, bootstrap, frozen) never commit, so recovery would
    // never stop at them.
    if ((*xid & 0xFFFFFFFFu) < 3)
      throw UsageError(fmt::format("--target-xid '{}': no transaction with this id can commit (ids 0, 1 and 2 "
                                   "within each epoch of 2^32 are reserved); expected a decimal transaction id as "
                                   "txid_current() returns it",
                                   o.xid));
    t.kind = RecoveryTarget::Kind::kXid, t.xid = *xid, t.text = std::to_string(*xid);
  } else if (!o.name.empty()) {
    // A control character (a newline above all) would end the line in
    // postgresql.auto.conf and leave it unparseable.
    for (unsigned char c : o.name)
      if (c < 0x20 || c == 0x7F)
        throw UsageError(fmt::format("--target-name: the restore point name contains the control character 0x{:02X}; "
                                     "expected the name given to pg_create_restore_point(): printable characters, "
                                     "at most {} bytes",
                                     c, kMaxRestorePointName));
    if (o.name.size() > kMaxRestorePointName)
      throw UsageError(fmt::format("--target-name '{}': {} bytes long; restore point names are at most {} bytes "
                                   "(PostgreSQL refuses longer ones)",
                                   o.name, o.name.size(), kMaxRestorePointName));
    t.kind = RecoveryTarget::Kind::kName, t.text = o.name;
  } else if (o.immediate) {
    t.kind = RecoveryTarget::Kind::kImmediate;
  }
  t.exclusive = o.exclusive;
  if (t.exclusive && t.kind != RecoveryTarget::Kind::kTime && t.kind != RecoveryTarget::Kind::kLsn &&
      t.kind != RecoveryTarget::Kind::kXid)
    throw UsageError("--target-exclusive applies to --target-time, --target-lsn and --target-xid only");
  if (!o.action.empty()) {
    if (o.action != "promote" && o.action != "pause" && o.action != "shutdown")
      throw UsageError(fmt::format("--target-action '{}': expected promote, pause or shutdown", o.action));
    if (t.kind == RecoveryTarget::Kind::kNone) throw UsageError("--target-action needs a recovery target");
    t.action = o.action;
  }
  if (!o.timeline.empty()) {
    if (o.timeline == "latest" || o.timeline == "current") {
      t.timeline = o.timeline;
    } else {
      auto number = DecimalNumber(o.timeline);
      if (!number || *number == 0 || *number > 0xFFFFFFFFu)
        throw UsageError(fmt::format("--target-timeline '{}': expected latest, current or a timeline number from 1 "
                                     "to 4294967295 (decimal digits only)",
                                     o.timeline));
      t.timeline = std::to_string(*number);
    }
    t.timeline_given = true;
  }
  if (o.stop_at_wal_gap) {
    if (t.kind != RecoveryTarget::Kind::kNone || !t.timeline_given)
      throw UsageError("--stop-at-wal-gap applies to recovery to the end of the archive: --target-timeline without "
                       "a recovery target (a time or LSN target beyond a gap is refused, whatever the option)");
    t.stop_at_wal_gap = true;
  }
  return t;
}

BackupManifest ChooseBackupForTarget(Repository& repo, WalArchive& archive, const RecoveryTarget& target,
                                     const std::string& backup_id) {
  BackupListing listing = repo.ListBackups();
  for (const auto& u : listing.unreadable)
    spdlog::warn("backup {} cannot be read and is not considered: {}", u.id, u.error);
  std::vector<BackupManifest>& backups = listing.backups;
  if (backups.empty()) throw Error(fmt::format("repository {} has no readable backups", repo.Describe()));
  std::vector<ArchivedWalFile> files = archive.List();

  // The timeline to recover along.
  uint32_t timeline = 0;
  if (target.timeline == "latest") {
    for (const auto& f : files)
      if (ClassifyWalFileName(f.name) == WalFileKind::kHistory)
        timeline = std::max<uint32_t>(timeline, static_cast<uint32_t>(std::stoul(f.name.substr(0, 8), nullptr, 16)));
    for (const auto& b : backups) timeline = std::max(timeline, b.timeline);
  } else if (target.timeline != "current") {
    timeline = static_cast<uint32_t>(std::stoul(target.timeline));
  }

  auto reaches = [&](const BackupManifest& b, std::string* why) {
    uint32_t tli = timeline ? timeline : b.timeline;
    auto ancestry = Ancestry(archive, tli);
    auto end = EndOnAncestry(ancestry, b.timeline);
    if (!end) {
      if (why) *why = fmt::format("its timeline {} is not an ancestor of timeline {}", b.timeline, tli);
      return false;
    }
    if (ParseLsn(b.stop_lsn) > *end) {
      if (why) *why = fmt::format("it ended at {} on timeline {}, after timeline {} branched off at {}", b.stop_lsn,
                                  b.timeline, tli, FormatLsn(*end));
      return false;
    }
    using K = RecoveryTarget::Kind;
    switch (target.kind) {
      case K::kTime:
        if (ParseTimestamp(b.stop_time) > target.time) {
          if (why) *why = fmt::format("it ended at {}, after the target time", b.stop_time);
          return false;
        }
        return true;
      case K::kLsn:
        if (ParseLsn(b.stop_lsn) > target.lsn) {
          if (why) *why = fmt::format("it ended at LSN {}, after the target LSN", b.stop_lsn);
          return false;
        }
        return true;
      case K::kXid:
        if (b.stop_next_xid == 0 || b.stop_next_xid > target.xid) {
          if (why)
            *why = b.stop_next_xid == 0 ? std::string("it does not record its last transaction id")
                                        : fmt::format("transactions up to {} may have committed before it ended",
                                                      b.stop_next_xid - 1);
          return false;
        }
        return true;
      default:
        return true;
    }
  };

  const BackupManifest* chosen = nullptr;
  if (!backup_id.empty() && backup_id != "latest") {
    auto it = std::find_if(backups.begin(), backups.end(), [&](const auto& b) { return b.id == backup_id; });
    if (it == backups.end()) repo.LoadBackup(backup_id);  // throws the usual "does not exist (available: ...)"
    std::string why;
    if (!reaches(*it, &why))
      throw Error(fmt::format("backup {} cannot reach {}: {}", it->id, target.Describe(), why));
    chosen = &*it;
  } else if (target.kind == RecoveryTarget::Kind::kName) {
    // Where a restore point lies is only known by replaying; the oldest
    // usable backup reaches every point after it.
    for (const auto& b : backups)
      if (reaches(b, nullptr)) {
        chosen = &b;
        break;
      }
  } else {
    for (auto it = backups.rbegin(); it != backups.rend(); ++it)
      if (reaches(*it, nullptr)) {
        chosen = &*it;
        break;
      }
  }
  if (!chosen) {
    std::string why;
    reaches(backups.front(), &why);
    throw Error(fmt::format("no backup in {} can reach {}: the oldest, {}, cannot because {}", repo.Describe(),
                            target.Describe(), backups.front().id, why));
  }

  // Does the archive reach the target? Walk the segments after the backup.
  uint32_t tli = timeline ? timeline : chosen->timeline;
  auto ancestry = Ancestry(archive, tli);
  uint32_t seg_size = chosen->wal_segment_size;
  auto segments = SegmentsOnAncestry(files, ancestry, seg_size);
  uint64_t stop_segno = SegmentNumber(ParseLsn(chosen->stop_lsn), seg_size);
  std::map<uint64_t, uint32_t> by_segno;  // segno -> newest timeline holding it
  for (const auto& s : segments) by_segno[s.segno] = std::max(by_segno[s.segno], s.timeline);
  // The backup holds its WAL up to its stop LSN (the rest of that segment is
  // zeroed); beyond it, replay needs the archive without a gap, starting with
  // the full stop segment.
  uint64_t last = stop_segno - 1;
  while (by_segno.count(last + 1)) ++last;
  Lsn archive_end = std::max<Lsn>(ParseLsn(chosen->stop_lsn), (last + 1) * seg_size);
  if (last < stop_segno) last = stop_segno;
  bool gap = by_segno.upper_bound(last) != by_segno.end();
  std::string last_name = WalSegmentName(by_segno.count(last) ? by_segno[last] : chosen->timeline, last, seg_size);
  using K = RecoveryTarget::Kind;
  if (target.kind == K::kLsn && target.lsn > archive_end)
    throw Error(fmt::format("--target-lsn {} is beyond the end of the archive: WAL after backup {} is archived "
                            "without a gap up to {} (segment {}){}",
                            target.text, chosen->id, FormatLsn(archive_end), last_name,
                            gap ? fmt::format("; segment {} is missing", WalSegmentName(tli, last + 1, seg_size)) : ""));
  if (target.kind == K::kTime) {
    SystemTime end_time = ParseTimestamp(chosen->stop_time);
    if (last > stop_segno) {
      WalObjectHeader header;  // proven: the refusal below rests on its time
      if (archive.Fetch(last_name, &header)) end_time = SystemTime(std::chrono::microseconds(header.archived_at_us));
    }
    if (target.time > end_time)
      throw Error(fmt::format("--target-time {} is beyond the end of the archive: the last WAL after backup {} "
                              "without a gap is segment {}, archived at {}{}",
                              target.text, chosen->id, last_name, FormatTimestamp(end_time),
                              gap ? fmt::format("; segment {} is missing", WalSegmentName(tli, last + 1, seg_size))
                                  : ""));
  }
  // Recovery to the end of the archive (no target) would promote at the gap
  // as if the archive ended there, dropping every commit archived after it.
  if (gap && target.kind == K::kNone && !target.stop_at_wal_gap) {
    auto resumes = by_segno.upper_bound(last);
    throw Error(fmt::format(
        "the archive has no segment {} (after {}), and WAL is archived again from segment {}: recovery to the end "
        "of the archive would stop at the missing segment and promote, without the transactions archived after it. "
        "Put the missing segment back into the repository (pgvault wal-push --repo REPO PATH, from the source's "
        "pg_wal or another copy) and restore again, or pass --stop-at-wal-gap to accept recovery that ends at {} "
        "(the end of segment {})",
        WalSegmentName(tli, last + 1, seg_size), last_name,
        WalSegmentName(resumes->second, resumes->first, seg_size), FormatLsn(archive_end), last_name));
  }
  if (gap)
    spdlog::warn("the archive has no segment {} (after {}): recovery cannot replay past it",
                 WalSegmentName(tli, last + 1, seg_size), last_name);
  return *chosen;
}

void WriteRecoveryConfiguration(const std::string& data_directory, const std::string& repo_location,
                                const RecoveryTarget& target, const BackupManifest& backup) {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw Error(fmt::format("cannot find the pgvault executable: {}", ErrnoText(errno)));
  std::string binary(exe, static_cast<size_t>(n));
  // An object store is reached with the settings this process uses (its
  // endpoint, addressing style, credentials file), never with secrets: those
  // come from the server's environment or the credentials file.
  std::string repo = repo_location;
  std::vector<std::string> storage_arguments;
  if (ParseObjectStoreLocation(repo_location)) {
    storage_arguments = StorageSettings::FromEnvironment(CredentialSource::FromEnvironment()).ToArguments();
  } else {
    repo = std::filesystem::absolute(repo_location).lexically_normal().string();
  }
  // A shell word, then a postgresql.conf string literal.
  auto shell_word = [](const std::string& s) {
    if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || std::strchr("/._-+:=@", c); }))
      return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  // As ALTER SYSTEM writes it: the configuration parser reads backslash
  // escapes inside quotes, so a backslash is doubled along with the quote.
  auto conf_literal = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("''") : c == '\\' ? std::string("\\\\") : std::string(1, c);
    return q + "'";
  };

  std::string conf_path = data_directory + "/postgresql.auto.conf";
  std::string old;
  try {
    old = ReadWholeFile(conf_path);
  } catch (const Error&) {
  }
  // Settings of an earlier recovery would conflict ("multiple recovery targets").
  static const std::regex kRecoverySetting(R"(^\s*(restore_command|recovery_target\w*)\s*=.*$)");
  std::string text;
  std::istringstream in(old);
  std::string line;
  while (std::getline(in, line)) {
    if (std::regex_match(line, kRecoverySetting)) line = "# disabled by pgvault restore: " + line;
    text += line + "\n";
  }
  text += fmt::format("# Added by pgvault restore of backup {}: recovery to {}\n", backup.id, target.Describe());
  text += "restore_command = " +
          conf_literal(fmt::format("{} wal-fetch --repo {}{}{} %f %p", shell_word(binary), shell_word(repo),
                                   std::accumulate(storage_arguments.begin(), storage_arguments.end(), std::string(),
                                                   [&](std::string all, const std::string& word) {
                                                     return all + " " + shell_word(word);
                                                   }),
                                   target.wal_prefetch > 0 ? fmt::format(" --prefetch {}", target.wal_prefetch)
                                                           : std::string())) +
          "\n";
  using K = RecoveryTarget::Kind;
  switch (target.kind) {
    // The parsed time, with a numeric zone: "Z" or "CET" as the user wrote
    // them would stop the server at startup ("invalid value").
    case K::kTime: text += "recovery_target_time = " + conf_literal(FormatPostgresTimestamp(target.time)) + "\n"; break;
    case K::kLsn: text += "recovery_target_lsn = " + conf_literal(target.text) + "\n"; break;
    case K::kXid: text += "recovery_target_xid = " + conf_literal(target.text) + "\n"; break;
    case K::kName: text += "recovery_target_name = " + conf_literal(target.text) + "\n"; break;
    case K::kImmediate: text += "recovery_target = 'immediate'\n"; break;
    case K::kNone: break;
  }
  if (target.exclusive) text += "recovery_target_inclusive = 'false'\n";
  text += "recovery_target_timeline = " + conf_literal(target.timeline) + "\n";
  if (target.kind != K::kNone) text += "recovery_target_action = " + conf_literal(target.action) + "\n";

  struct stat dir_stat;
  if (::stat(data_directory.c_str(), &dir_stat) != 0)
    throw Error(fmt::format("cannot stat {}: {}", data_directory, ErrnoText(errno)));
  for (const auto& [path, content] :
       std::vector<std::pair<std::string, std::string>>{{conf_path, text}, {data_directory + "/recovery.signal", ""}}) {
    WriteFileAtomically(path, content, 0600);
    if (::geteuid() == 0 && ::chown(path.c_str(), dir_stat.st_uid, dir_stat.st_gid) != 0)
      throw Error(fmt::format("cannot set the owner of {}: {}", path, ErrnoText(errno)));
  }
}

}  // namespace pgvault
