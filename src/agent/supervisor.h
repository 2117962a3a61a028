// The agent's event loop: speaks the protocol with the host over the port,
// starts the container process on request, pumps its stdio through flow-
// controlled streams, forwards signals, reaps every child, and reports the
// exit once all output is through.
#pragma once

#include "common/result.h"
#include "agent/watchdog.h"
#include "common/unique_fd.h"

namespace runvm::agent {

// Runs until the host asks for shutdown or goes away. Returns an error
// only for failures the host could not be told about.
Status supervise(UniqueFd port, Watchdog& watchdog);

}  // namespace runvm::agent
