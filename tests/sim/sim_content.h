// Content of the files a hospital share holds, for the ransomware
// simulation: pure functions, a seeded generator in, bytes out. Formats are
// imitated as far as detection can see them: their magic bytes and headers,
// and which parts are structured (text, raw pixels, code) and which are
// random-looking (compressed or encrypted data).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "util/bytes.h"

namespace ks::sim {

using Rng = std::mt19937_64;

// A number in [lo, hi], log-uniformly distributed (file sizes).
size_t LogUniform(Rng& rng, size_t lo, size_t hi);

// Bytes indistinguishable from random: a ChaCha20 key stream under a key
// drawn from `rng` (fast, and reproducible from the seed).
Bytes RandomLooking(Rng& rng, size_t n);

// Encrypts `data[offset, offset+len)` in place with ChaCha20 under `key`
// (32 bytes), keeping the key stream position of a whole-file encryption.
void EncryptRange(Bytes& data, size_t offset, size_t len, const Bytes& key, uint64_t nonce);

// Text formats; each returns about `size` bytes (whole lines or messages).
Bytes Hl7Messages(Rng& rng, size_t size);
Bytes CsvTable(Rng& rng, size_t size);
Bytes JsonRecords(Rng& rng, size_t size);
Bytes LogLines(Rng& rng, size_t size);
Bytes PlainText(Rng& rng, size_t size);
// One more batch of rows/messages to append to an existing file (no header).
Bytes CsvRows(Rng& rng, size_t size);

// A PDF: "%PDF-" header, text content streams, and sometimes a compressed
// (random-looking) image stream, like scanned pages.
Bytes PdfDocument(Rng& rng, size_t size);
// An Office file (docx/xlsx): a real ZIP (local file headers, central
// directory), its XML parts deflated (random-looking), some stored.
Bytes OfficeZip(Rng& rng, size_t size);
// A ZIP archive of arbitrary entries, all deflated.
Bytes ZipArchive(Rng& rng, size_t size);

// DICOM: 128-byte preamble, "DICM", the group 2 meta header, a few tags,
// then pixel data: raw 16-bit gradients with noise, or (compressed) a JPEG
// 2000 codestream, random-looking, under a compressed transfer syntax.
Bytes DicomImage(Rng& rng, size_t size, bool compressed);
// The same image header re-encoded: transfer syntax JPEG 2000, pixel data
// replaced by a compressed (random-looking) stream about a third the size.
Bytes DicomReencoded(Rng& rng, const Bytes& raw);

// Compressed media: valid magic and headers, random-looking body.
Bytes Jpeg(Rng& rng, size_t size);
Bytes Png(Rng& rng, size_t size);
Bytes Mp4(Rng& rng, size_t size, bool audio);  // .mp4 or .m4a
Bytes Gzip(Rng& rng, size_t size);

// A program: ELF header, code-like bytes, a string table, and sometimes a
// compressed resource section.
Bytes ElfBinary(Rng& rng, size_t size);

}  // namespace ks::sim
