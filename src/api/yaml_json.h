// YAML documents as JSON values, and back. Manifests and the cluster file are
// YAML for people; inside pgvault every document is an nlohmann::json value,
// so validation, the catalog and `-o json` see one representation.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgvault {

// Parses every document of a YAML stream. Plain scalars become booleans
// (true/false), null (null, ~, empty), integers or floats when they read as
// such; quoted scalars always stay strings. `origin` names the input in
// errors ("line 4, column 3 of cluster.yaml: ...").
std::vector<nlohmann::json> ParseYamlDocuments(const std::string& text, const std::string& origin);

// Block-style YAML for `-o yaml`; strings that would read back as another type
// are quoted.
std::string ToYaml(const nlohmann::json& value);

}  // namespace pgvault
