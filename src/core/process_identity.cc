#include "core/process_identity.h"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace pgvault {
namespace {

uint64_t StartTicks(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoull(field);
  return 0;
}

std::string PidNamespace() {
  char buf[128] = {0};
  ssize_t n = ::readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::string HostName() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

ProcessIdentity CurrentProcess() {
  ProcessIdentity p{HostName(), ::getpid(), StartTicks(::getpid()), PidNamespace()};
  if (p.start_ticks == 0)
    throw Error(fmt::format("cannot read the start time of process {} from /proc/{}/stat (is /proc mounted?)", p.pid,
                            p.pid));
  return p;
}

bool ProcessAlive(const ProcessIdentity& p) {
  if (p.host != HostName()) return true;  // cannot tell from here
  if (!p.pid_namespace.empty() && p.pid_namespace != PidNamespace()) return true;
  uint64_t start = StartTicks(p.pid);
  return start != 0 && start == p.start_ticks;
}

}  // namespace pgvault
