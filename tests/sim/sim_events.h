// What happens to the share between two backups in the simulation: attacks
// (which the next backup must flag) and a hospital's ordinary churn (which
// it must not). Each event is a function of the tree and a seeded generator.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sim_tree.h"

namespace ks::sim {

using Event = std::function<void(Rng&, const fs::path& root)>;

struct Scenario {
  std::string name;
  bool attack;  // true: must be flagged; false: must stay clean
  Event apply;
};

// Attacks. Encryption is ChaCha20 under a random key per file (the output
// is indistinguishable from random), in place; some variants add a short
// trailer as real ransomware does (the wrapped file key).
std::vector<Scenario> Attacks();
// Ordinary churn of a hospital share.
std::vector<Scenario> BenignChurn();

}  // namespace ks::sim
