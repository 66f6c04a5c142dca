// A hospital share for the ransomware simulation: nested departments with
// documents, records, images, media, logs and programs, written into a
// directory from a seeded generator. Plus the file helpers the events use.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim_content.h"

namespace ks::sim {

namespace fs = std::filesystem;

struct TreeShape {
  int files = 140;        // ordinary files (2 KiB to 256 KiB, log-uniform)
  int large_files = 2;    // 1 to 3 MiB (images, scans, archives)
};

// Writes a new share under `root` (which must not exist). Deterministic
// given the generator's state.
void GenerateTree(Rng& rng, const fs::path& root, const TreeShape& shape = {});

// One file of the kinds the generator writes, chosen by its extension
// (".dcm" raw or compressed at random), about `size` bytes.
Bytes ContentFor(Rng& rng, const std::string& ext, size_t size);

// Every regular file / directory under root (root itself included for
// directories), sorted, so events pick the same ones for the same seed.
std::vector<fs::path> Files(const fs::path& root);
std::vector<fs::path> Dirs(const fs::path& root);

Bytes ReadAll(const fs::path& p);
void WriteAll(const fs::path& p, ByteSpan data);

}  // namespace ks::sim
