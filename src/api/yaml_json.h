// YAML documents as JSON values, and back. Manifests and the cluster file are
// YAML for people; inside pgvault every document is an nlohmann::json value,
// so validation, the catalog and `-o json` see one representation.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgvault {

// Bounds on a YAML (or JSON, which is YAML) stream from a user's file: apply -f
// and the cluster file. yaml-cpp keeps an alias as a shared node, but JSON
// has none, so converting copies the aliased subtree at every use: 609 bytes
// of nested aliases ("a billion laughs") would become 10^9 values and tens of
// GB. Real manifests are a few KiB with a few hundred values nested less than
// 15 deep, so each bound is hundreds of times what a real file needs and
// still keeps a hostile one to tens of MB and well under a second:
struct YamlLimits {
  // The text itself. Kubernetes caps one object near 1.5 MiB (etcd's request
  // size); 4 MiB also takes a file of many such objects.
  size_t max_bytes = 4u << 20;
  // Values produced (maps, lists, scalars), an alias counting as a full copy
  // of what it names. ~100 bytes each in nlohmann::json: ~10 MB at most.
  size_t max_values = 100'000;
  // Scalar text produced, an aliased scalar counting at every use: with the
  // byte bound, one 4 MiB scalar may be used 4 times, not a million.
  size_t max_text_bytes = 16u << 20;
  // Nesting of maps and lists. The conversion recurses once per level, and an
  // alias inside its own anchor (&a [*a]) would nest forever.
  size_t max_depth = 64;
};

// Parses every document of a YAML stream. Plain scalars become booleans
// (true/false), null (null, ~, empty), integers or floats when they read as
// such; quoted scalars always stay strings. `origin` names the input in
// errors ("line 4, column 3 of cluster.yaml: ..."). A stream beyond `limits`
// is refused with an Error naming `origin` and the limit, before more than
// the limit is built.
std::vector<nlohmann::json> ParseYamlDocuments(const std::string& text, const std::string& origin,
                                               const YamlLimits& limits = {});

// Block-style YAML for `-o yaml`; strings that would read back as another type
// are quoted.
std::string ToYaml(const nlohmann::json& value);

}  // namespace pgvault
