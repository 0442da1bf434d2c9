// `pgvault apply -f backup.yaml --wait`: runs a Backup in the foreground,
// without a controller, in the same supervised child process a controller
// would use (so the phase deadlines hold), and waits until the backup has
// ended. If a controller claims the backup first, it waits for that one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"

namespace pgvault {

// Returns the final Backup object (phase completed or failed). `on_change`
// is called with the object each time its phase changes.
nlohmann::json RunBackupAndWait(Catalog& catalog, const std::string& program, const std::vector<std::string>& args,
                                const std::string& name, const std::function<void(const nlohmann::json&)>& on_change);

}  // namespace pgvault
