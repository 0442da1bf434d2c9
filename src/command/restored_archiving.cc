#include "command/restored_archiving.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/posix_io.h"
#include "storage/object_store_location.h"

namespace pgvault {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxIncludeDepth = 10;  // PostgreSQL's own limit

// The file's text, or nothing if it does not exist. A link is not followed:
// the restored directory's files are what counts, and restore never reads
// through a link the backup put there.
std::optional<std::string> ReadIfExists(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  char buffer[65536];
  for (uint64_t offset = 0;;) {
    size_t n = PreadFull(fd.get(), buffer, sizeof buffer, offset, path);
    text.append(buffer, n);
    offset += n;
    if (n < sizeof buffer) return text;
  }
}

// One postgresql.conf line: `name = value` or `name value`, the value bare or
// a '...' string ('' and \' for a quote); "#" starts a comment outside quotes.
bool ParseLine(const std::string& line, std::string* name, std::string* value) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  };
  skip_space();
  size_t start = i;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '.'))
    ++i;
  if (i == start) return false;
  *name = line.substr(start, i - start);
  std::transform(name->begin(), name->end(), name->begin(), [](unsigned char c) { return std::tolower(c); });
  skip_space();
  if (i < line.size() && line[i] == '=') ++i;
  skip_space();
  value->clear();
  if (i < line.size() && line[i] == '\'') {
    for (++i; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        *value += line[++i];
      } else if (line[i] == '\'') {
        if (i + 1 < line.size() && line[i + 1] == '\'') {
          *value += '\'';
          ++i;
        } else {
          return true;
        }
      } else {
        *value += line[i];
      }
    }
    return true;
  }
  while (i < line.size() && line[i] != '#' && !std::isspace(static_cast<unsigned char>(line[i]))) *value += line[i++];
  return true;
}

// Settings in the order PostgreSQL reads them; the last one of a name wins.
void ReadSettings(const std::string& path, int depth, bool must_exist, std::map<std::string, std::string>& settings,
                  std::vector<std::string>& unreadable) {
  std::optional<std::string> text = depth > kMaxIncludeDepth ? std::nullopt : ReadIfExists(path);
  if (!text) {
    if (must_exist) unreadable.push_back(path);
    return;
  }
  std::istringstream in(*text);
  std::string line, name, value;
  std::string dir = fs::path(path).parent_path().string();
  auto resolve = [&](const std::string& p) { return p.starts_with("/") ? p : dir + "/" + p; };
  while (std::getline(in, line)) {
    if (!ParseLine(line, &name, &value)) continue;
    if (name == "include" || name == "include_if_exists") {
      ReadSettings(resolve(value), depth + 1, name == "include", settings, unreadable);
    } else if (name == "include_dir") {
      std::vector<std::string> files;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(resolve(value), ec)) {
        std::string file = e.path().filename().string();
        if (file.ends_with(".conf") && !file.starts_with(".")) files.push_back(e.path().string());
      }
      if (ec) unreadable.push_back(resolve(value));
      std::sort(files.begin(), files.end());
      for (const auto& f : files) ReadSettings(f, depth + 1, true, settings, unreadable);
    } else {
      settings[name] = value;
    }
  }
}

bool ArchiveModeOn(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value == "on" || value == "always" || value == "true" || value == "yes" || value == "1";
}

// Whether `command` is a pgvault wal-push into `repo` (the location as given,
// or its absolute form for a directory). A wal-push without --repo takes the
// repository from the server's environment (PGVAULT_REPO), which may well be
// this one.
bool PushesInto(const std::string& command, const std::vector<std::string>& repo_spellings) {
  if (command.find("wal-push") == std::string::npos) return false;
  if (command.find("--repo") == std::string::npos) return true;
  for (const auto& repo : repo_spellings) {
    for (size_t at = command.find(repo); at != std::string::npos; at = command.find(repo, at + 1)) {
      size_t end = at + repo.size();
      while (end < command.size() && command[end] == '/') ++end;
      if (end == command.size() || std::strchr(" \t'\"", command[end])) return true;
    }
  }
  return false;
}

constexpr const char* kAvoid =
    "; a copy that must not archive (a test or PITR copy) is restored with --archive-mode off; a restore that "
    "replaces the source as the new primary keeps --archive-mode preserve";

}  // namespace

ArchiveMode ParseArchiveMode(const std::string& text) {
  if (text == "off") return ArchiveMode::kOff;
  if (text == "preserve") return ArchiveMode::kPreserve;
  throw UsageError(fmt::format("invalid --archive-mode '{}': expected off or preserve", text));
}

const char* ArchiveModeName(ArchiveMode mode) { return mode == ArchiveMode::kOff ? "off" : "preserve"; }

void WriteArchiveModeOff(const std::string& data_directory, const std::string& backup_id) {
  std::string path = data_directory + "/postgresql.auto.conf";
  std::string old = ReadIfExists(path).value_or("");
  static const std::regex kArchiveMode(R"(^\s*archive_mode\b.*$)", std::regex::icase);
  std::string text;
  std::istringstream in(old);
  std::string line;
  while (std::getline(in, line)) {
    if (std::regex_match(line, kArchiveMode)) line = "# disabled by pgvault restore --archive-mode off: " + line;
    text += line + "\n";
  }
  text += fmt::format("# Added by pgvault restore of backup {} (--archive-mode off): this copy archives no WAL\n",
                      backup_id);
  text += "archive_mode = 'off'\n";
  struct stat dir_stat;
  if (::stat(data_directory.c_str(), &dir_stat) != 0)
    throw Error(fmt::format("cannot stat {}: {}", data_directory, ErrnoText(errno)));
  WriteFileAtomically(path, text, 0600);
  if (::geteuid() == 0 && ::lchown(path.c_str(), dir_stat.st_uid, dir_stat.st_gid) != 0)
    throw Error(fmt::format("cannot set the owner of {}: {}", path, ErrnoText(errno)));
}

std::string WarnIfArchivingIntoRepository(const std::string& data_directory, const std::string& repo_location) {
  std::vector<std::string> spellings = {repo_location};
  if (!ParseObjectStoreLocation(repo_location)) {
    std::string absolute = fs::absolute(repo_location).lexically_normal().string();
    while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
    spellings.push_back(absolute);
  }
  std::map<std::string, std::string> settings;
  std::vector<std::string> unreadable;
  std::string conf = data_directory + "/postgresql.conf";
  bool have_conf = ReadIfExists(conf).has_value();
  if (have_conf) ReadSettings(conf, 0, true, settings, unreadable);
  ReadSettings(data_directory + "/postgresql.auto.conf", 0, false, settings, unreadable);

  bool mode_known = settings.count("archive_mode") > 0;
  bool on = mode_known && ArchiveModeOn(settings["archive_mode"]);
  std::string command = settings.count("archive_command") ? settings["archive_command"] : "";
  if (on && PushesInto(command, spellings))
    return fmt::format("the restored copy in {} has archive_mode = {} and archive_command = '{}': when started it "
                       "archives its WAL, and the new timeline it creates, into the repository it was restored from "
                       "({}), where a later point-in-time recovery with the default timeline (latest) would follow "
                       "the copy's timeline instead of the source's{}",
                       data_directory, settings["archive_mode"], command, repo_location, kAvoid);
  // What was seen says the copy archives nowhere, or elsewhere.
  if (mode_known && (!on || !command.empty())) return "";
  if (have_conf && unreadable.empty()) return "";  // all of it seen: archive_mode's default is off
  std::string missing = have_conf ? "" : conf;
  for (const auto& u : unreadable) missing += (missing.empty() ? "" : ", ") + u;
  return fmt::format("restore cannot tell whether the restored copy in {} archives into the repository it was "
                     "restored from ({}): {} is not in the data directory (Debian, for one, keeps postgresql.conf in "
                     "/etc/postgresql/VERSION/CLUSTER); if the copy starts with the source's configuration "
                     "(archive_mode on, archive_command pgvault wal-push into {}) it archives its WAL and its new "
                     "timeline there, where a later point-in-time recovery with the default timeline (latest) would "
                     "follow it{}",
                     data_directory, repo_location, missing, repo_location, kAvoid);
}

}  // namespace pgvault
