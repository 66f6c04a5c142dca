#include "sim_tree.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace ks::sim {
namespace {

// Departments, their subfolders, and the file types they hold (weights by
// repetition).
struct Department {
  const char* path;
  std::vector<const char*> exts;
};

const std::vector<Department>& Departments() {
  static const std::vector<Department> kDepartments = {
      {"Radiology/CT/2026-11", {"dcm", "dcm", "dcm", "pdf"}},
      {"Radiology/MR/2026-10", {"dcm", "dcm", "dcm", "txt"}},
      {"Radiology/Reports", {"pdf", "docx", "txt"}},
      {"Laboratory/HL7/inbound", {"hl7", "hl7", "hl7"}},
      {"Laboratory/Results", {"csv", "csv", "json", "xlsx"}},
      {"Cardiology/ECG", {"pdf", "csv", "json"}},
      {"Cardiology/Echo", {"mp4", "dcm", "jpg"}},
      {"Administration/Finance", {"xlsx", "csv", "pdf", "docx"}},
      {"Administration/HR/Contracts", {"docx", "pdf", "pdf"}},
      {"Administration/Minutes", {"docx", "txt", "m4a"}},
      {"Wards/Ward-3/Handover", {"docx", "txt", "json"}},
      {"Wards/Ward-7/Photos", {"jpg", "png", "jpg"}},
      {"Pharmacy/Orders", {"csv", "hl7", "pdf"}},
      {"Records/Scans/2025", {"pdf", "png", "jpg"}},
      {"Records/Archive", {"zip", "pdf", "csv"}},
      {"IT/logs", {"log", "log", "log"}},
      {"IT/apps/ris/bin", {"", "", "so"}},
      {"IT/apps/pacs-router/bin", {"", "so"}},
      {"IT/config", {"json", "txt"}},
  };
  return kDepartments;
}

std::string FileName(Rng& rng, const std::string& ext, int n) {
  static const char* kStems[] = {"report", "scan", "IMG", "result", "export", "minutes",
                                 "contract", "order", "handover", "echo", "photo", "notes"};
  std::string stem = kStems[rng() % std::size(kStems)];
  std::string name = stem + "-" + std::to_string(1000 + n);
  if (ext.empty()) return stem == "IMG" ? "rissvc" + std::to_string(n) : stem + "d" + std::to_string(n);
  if (ext == "so") return "lib" + stem + std::to_string(n) + ".so";
  return name + "." + ext;
}

}  // namespace

Bytes ContentFor(Rng& rng, const std::string& ext, size_t size) {
  if (ext == "dcm") return DicomImage(rng, size, rng() % 3 == 0);
  if (ext == "pdf") return PdfDocument(rng, size);
  if (ext == "docx" || ext == "xlsx") return OfficeZip(rng, size);
  if (ext == "zip") return ZipArchive(rng, size);
  if (ext == "hl7") return Hl7Messages(rng, size);
  if (ext == "csv") return CsvTable(rng, size);
  if (ext == "json") return JsonRecords(rng, size);
  if (ext == "log") return LogLines(rng, size);
  if (ext == "txt") return PlainText(rng, size);
  if (ext == "jpg") return Jpeg(rng, size);
  if (ext == "png") return Png(rng, size);
  if (ext == "mp4") return Mp4(rng, size, false);
  if (ext == "m4a") return Mp4(rng, size, true);
  if (ext == "gz") return Gzip(rng, size);
  if (ext == "" || ext == "so") return ElfBinary(rng, size);
  return PlainText(rng, size);
}

void GenerateTree(Rng& rng, const fs::path& root, const TreeShape& shape) {
  const auto& deps = Departments();
  for (const auto& d : deps) fs::create_directories(root / d.path);
  for (int i = 0; i < shape.files + shape.large_files; i++) {
    const Department& d = deps[rng() % deps.size()];
    std::string ext = d.exts[rng() % d.exts.size()];
    bool large = i >= shape.files;
    size_t size = large ? LogUniform(rng, 1 << 20, 3 << 20) : LogUniform(rng, 2 << 10, 256 << 10);
    // Text records are usually small, images and media larger.
    if (ext == "dcm" && !large) size = std::max<size_t>(size, 64 << 10);
    fs::path dir = root / d.path;
    // Some patients or months get a folder of their own.
    if (rng() % 4 == 0) {
      dir /= "P" + std::to_string(100 + rng() % 6);
      fs::create_directories(dir);
    }
    WriteAll(dir / FileName(rng, ext, i), ContentFor(rng, ext, size));
  }
}

std::vector<fs::path> Files(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && !e.is_symlink()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> Dirs(const fs::path& root) {
  std::vector<fs::path> out = {root};
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_directory() && !e.is_symlink()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

Bytes ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const fs::path& p, ByteSpan data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

}  // namespace ks::sim
