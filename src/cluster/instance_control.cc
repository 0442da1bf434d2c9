#include "cluster/instance_control.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cluster/instance_status.h"
#include "core/command_runner.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/posix_io.h"
#include "pg/connection.h"

namespace pgvault {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? "" : s.substr(start);
}

std::string LastLines(const std::string& text, size_t count = 5) {
  std::string t = Trim(text);
  size_t pos = t.size();
  for (size_t i = 0; i < count && pos != std::string::npos && pos > 0; ++i) pos = t.rfind('\n', pos - 1);
  std::string tail = pos == std::string::npos ? t : t.substr(pos + 1);
  for (auto& c : tail)
    if (c == '\n') c = ' ';
  return tail;
}

std::string ServerLogTail(const InstanceSpec& i) {
  std::string log = i.log_file.empty() ? i.pgdata + "/log/pgvault-pg_ctl.log" : i.log_file;
  try {
    std::string text = ReadWholeFile(log);
    return fmt::format("; the end of {}: {}", log, LastLines(text, 3));
  } catch (const Error&) {
    return "";
  }
}

CommandResult RunAsInstanceUser(const InstanceSpec& i, const std::vector<std::string>& argv) {
  // Not root: run as ourselves, whatever osUser says (the user is then the owner already).
  std::string user = ::geteuid() == 0 ? i.os_user : "";
  return RunCommand(argv, user);
}

void Sleep(std::chrono::milliseconds d, bool interruptible, const char* doing) {
  std::this_thread::sleep_for(d);
  if (interruptible) ThrowIfInterrupted(doing);
}

}  // namespace

std::string PgTool(const InstanceSpec& i, const std::string& tool) {
  if (!i.pg_bin_dir.empty()) return i.pg_bin_dir + "/" + tool;
  std::string version;
  try {
    version = Trim(ReadWholeFile(i.pgdata + "/PG_VERSION"));
  } catch (const Error&) {
    throw Error(fmt::format("instance {}: cannot read {}/PG_VERSION to find the PostgreSQL binaries: set pgBinDir",
                            i.name, i.pgdata));
  }
  return fmt::format("/usr/lib/postgresql/{}/bin/{}", version, tool);
}

bool InstanceRunning(const InstanceSpec& i) {
  if (!i.systemd_unit.empty()) {
    auto r = RunCommand({"systemctl", "--no-ask-password", "is-active", "--quiet", i.systemd_unit});
    return r.ok();
  }
  auto r = RunAsInstanceUser(i, {PgTool(i, "pg_ctl"), "-D", i.pgdata, "status"});
  if (r.exit_code == 0) return true;
  if (r.exit_code == 3) return false;  // "no server running"
  throw Error(fmt::format("instance {}: pg_ctl status failed (exit {}): {}", i.name, r.exit_code, LastLines(r.output)));
}

void StopInstance(const InstanceSpec& i) {
  CommandResult r;
  std::vector<std::string> argv;
  if (!i.systemd_unit.empty()) {
    argv = {"systemctl", "--no-ask-password", "stop", i.systemd_unit};
    r = RunCommand(argv);
  } else {
    if (!InstanceRunning(i)) {
      spdlog::info("instance {} is already stopped", i.name);
    } else {
      argv = {PgTool(i, "pg_ctl"), "-D", i.pgdata, "-m", "fast", "-w", "-t", std::to_string(i.stop_timeout_seconds),
              "stop"};
      r = RunAsInstanceUser(i, argv);
      if (!r.ok())
        throw Error(fmt::format("instance {}: '{}' failed (exit {}): {}", i.name, CommandLine(argv), r.exit_code,
                                LastLines(r.output)));
    }
  }
  if (!i.systemd_unit.empty() && !r.ok())
    throw Error(fmt::format("instance {}: '{}' failed (exit {}): {}", i.name, CommandLine(argv), r.exit_code,
                            LastLines(r.output)));
  auto control = ReadControlData(i);
  std::string state = control["Database cluster state"];
  if (state != "shut down" && state != "shut down in recovery")
    throw Error(fmt::format("instance {} stopped but is not cleanly shut down (pg_controldata says '{}'): a cold "
                            "backup needs a clean shutdown",
                            i.name, state));
}

void StartInstance(const InstanceSpec& i, bool interruptible) {
  if (!InstanceRunning(i)) {
    std::vector<std::string> argv;
    CommandResult r;
    if (!i.systemd_unit.empty()) {
      argv = {"systemctl", "--no-ask-password", "start", i.systemd_unit};
      r = RunCommand(argv);
    } else {
      std::string log = i.log_file;
      if (log.empty()) {
        log = i.pgdata + "/log/pgvault-pg_ctl.log";
        std::error_code ec;
        std::filesystem::create_directories(i.pgdata + "/log", ec);
        if (::geteuid() == 0) RunCommand({"chown", i.os_user + ":", i.pgdata + "/log"});
      }
      // -t bounds pg_ctl's own wait for "ready to accept connections".
      argv = {PgTool(i, "pg_ctl"), "-D", i.pgdata, "-l", log, "-w", "-t", std::to_string(i.start_timeout_seconds),
              "start"};
      r = RunAsInstanceUser(i, argv);
    }
    if (!r.ok())
      throw Error(fmt::format("instance {}: '{}' failed (exit {}): {}{}", i.name, CommandLine(argv), r.exit_code,
                              LastLines(r.output), ServerLogTail(i)));
  }
  // Then wait for it to serve, and a standby to stream.
  bool standby = ::access((i.pgdata + "/standby.signal").c_str(), F_OK) == 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(i.start_timeout_seconds);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    InstanceStatus s = ProbeInstance(i);
    if (s.reachable && (!standby || s.wal_receiver == "streaming")) {
      spdlog::info("instance {} is back: {}", i.name, standby ? "streaming from the primary" : "accepting connections");
      return;
    }
    last = s.reachable ? fmt::format("WAL receiver '{}'", s.wal_receiver) : s.error;
    Sleep(std::chrono::milliseconds(200), interruptible, "waiting for the instance to start");
  }
  throw Error(fmt::format("instance {} was started but is not {} after {}s (last: {}){}", i.name,
                          standby ? "streaming" : "accepting connections", i.start_timeout_seconds, last,
                          ServerLogTail(i)));
}

std::map<std::string, std::string> ReadControlData(const InstanceSpec& i) {
  std::vector<std::string> argv = {PgTool(i, "pg_controldata"), "-D", i.pgdata};
  auto r = RunCommand(argv);
  if (!r.ok())
    throw Error(fmt::format("instance {}: '{}' failed (exit {}): {}", i.name, CommandLine(argv), r.exit_code,
                            LastLines(r.output)));
  std::map<std::string, std::string> out;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[Trim(line.substr(0, colon))] = Trim(line.substr(colon + 1));
  }
  return out;
}

}  // namespace pgvault
