// SIGINT, SIGTERM and SIGHUP as a request to stop at the next safe point.
// Commands that change the world (a cold backup fences an instance) must undo
// that before exiting, so the handler only records the signal; the command
// checks between steps and unwinds through its cleanup (e.g. unfencing).
#pragma once

#include "core/error.h"

namespace pgvault {

class InterruptedError : public Error {
 public:
  InterruptedError(int signal, const std::string& message) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Only commands that clean up after themselves install the handlers; the
// others keep the default action (a signal ends them at once).
void InstallInterruptHandlers();
// The signal received, 0 if none.
int InterruptSignal();
// Throws InterruptedError ("interrupted by SIGTERM while <doing>") if a signal arrived.
void ThrowIfInterrupted(const char* doing);

}  // namespace pgvault
