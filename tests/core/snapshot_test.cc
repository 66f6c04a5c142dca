#include "format/snapshot.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "format/sealed.h"
#include "test_util.h"

namespace ks {
namespace {

using json = nlohmann::json;

Id IdOf(uint8_t fill) {
  Id id;
  for (size_t i = 0; i < 32; i++) id.b[i] = uint8_t(fill + i);
  return id;
}

Snapshot FullSnapshot() {
  Snapshot s;
  s.time_ns = 1796056393123456789;  // 2026-11-30T16:33:13.123456789Z
  s.tree = IdOf(0x10);
  s.paths = {"/home/alice", "/etc", "/srv/with space", "/caf\xc3\xa9"};
  s.hostname = "host-a";
  s.username = "alice";
  s.uid = 1000;
  s.gid = 4294967295u;
  s.tags = {"daily", "t\"quote"};
  s.excludes = {"*.tmp", "/home/alice/.cache"};
  s.parent = IdOf(0xa0);
  s.program_version = "kintsugi 0.1.0";
  auto& m = s.summary;
  m.files_new = 1;
  m.files_changed = 2;
  m.files_unmodified = 3;
  m.dirs = 4;
  m.files_failed = 5;
  m.bytes_read = 6;
  m.bytes_total = 18446744073709551615ull;
  m.bytes_added = 8;
  m.blobs_added = 9;
  m.duration_ns = -10;
  return s;
}

void ExpectSame(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.time_ns, b.time_ns);
  EXPECT_EQ(a.tree, b.tree);
  EXPECT_EQ(a.paths, b.paths);
  EXPECT_EQ(a.hostname, b.hostname);
  EXPECT_EQ(a.username, b.username);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.excludes, b.excludes);
  EXPECT_EQ(a.parent, b.parent);
  EXPECT_EQ(a.program_version, b.program_version);
  const auto &x = a.summary, &y = b.summary;
  EXPECT_EQ(x.files_new, y.files_new);
  EXPECT_EQ(x.files_changed, y.files_changed);
  EXPECT_EQ(x.files_unmodified, y.files_unmodified);
  EXPECT_EQ(x.dirs, y.dirs);
  EXPECT_EQ(x.files_failed, y.files_failed);
  EXPECT_EQ(x.bytes_read, y.bytes_read);
  EXPECT_EQ(x.bytes_total, y.bytes_total);
  EXPECT_EQ(x.bytes_added, y.bytes_added);
  EXPECT_EQ(x.blobs_added, y.blobs_added);
  EXPECT_EQ(x.duration_ns, y.duration_ns);
}

Result<Snapshot> Decode(const std::string& s) { return DecodeSnapshot(AsBytes(s)); }

TEST(SnapshotTest, RoundTrip) {
  Snapshot s = FullSnapshot();
  std::string text = EncodeSnapshot(s);
  auto back = Decode(text);
  ASSERT_OK(back);
  ExpectSame(*back, s);
  // The documented field names and value formats.
  json j = json::parse(text);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["time"], "2026-11-30T16:33:13.123456789Z");
  EXPECT_EQ(j["tree"], IdOf(0x10).Hex());
  EXPECT_EQ(j["parent"], IdOf(0xa0).Hex());
  EXPECT_EQ(j["hostname"], "host-a");
  EXPECT_EQ(j["summary"]["bytes_total"], 18446744073709551615ull);
  EXPECT_EQ(j["summary"]["duration_ns"], -10);
}

TEST(SnapshotTest, RoundTripVariants) {
  Snapshot s;  // all defaults: empty lists, no parent
  auto back = Decode(EncodeSnapshot(s));
  ASSERT_OK(back);
  ExpectSame(*back, s);
  EXPECT_FALSE(back->parent.has_value());
  EXPECT_FALSE(json::parse(EncodeSnapshot(s)).contains("parent"));
  // Times before 1970, at the epoch, with and without fractions.
  for (int64_t t : {int64_t{0}, int64_t{-1}, int64_t{-31536000000000005}, int64_t{1},
                    int64_t{999999999}, int64_t{1000000000}, int64_t{4102444800000000000}}) {
    s.time_ns = t;
    auto b = Decode(EncodeSnapshot(s));
    ASSERT_OK(b);
    EXPECT_EQ(b->time_ns, t);
  }
  s.time_ns = -1;
  EXPECT_EQ(json::parse(EncodeSnapshot(s))["time"], "1969-12-31T23:59:59.999999999Z");
}

TEST(SnapshotTest, MinimalHandWrittenJson) {
  std::string tree = IdOf(1).Hex();
  auto s = Decode(R"({"version":1,"time":"2026-11-29T16:33:13Z","tree":")" + tree +
                  R"(","paths":["/"],"hostname":"h"})");
  ASSERT_OK(s);
  EXPECT_EQ(s->time_ns, 1796056393000000000 - 86400ll * 1000000000);
  EXPECT_EQ(s->tree, IdOf(1));
  EXPECT_EQ(s->paths, std::vector<std::string>{"/"});
  EXPECT_EQ(s->hostname, "h");
  EXPECT_EQ(s->username, "");
  EXPECT_EQ(s->uid, 0u);
  EXPECT_TRUE(s->tags.empty());
  EXPECT_FALSE(s->parent.has_value());
  EXPECT_EQ(s->summary.bytes_added, 0u);
  // A fraction with fewer than nine digits; unknown fields are ignored.
  s = Decode(R"({"version":1,"time":"2026-11-29T16:33:13.5Z","tree":")" + tree +
             R"(","paths":[],"hostname":"h","future_field":{"x":[1,2]}})");
  ASSERT_OK(s);
  EXPECT_EQ(s->time_ns % 1000000000, 500000000);
}

TEST(SnapshotTest, MalformedJsonIsCorruptNeverThrows) {
  json good = json::parse(EncodeSnapshot(FullSnapshot()));
  auto with = [&](const std::string& field, const json& v) {
    json j = good;
    j[field] = v;
    return j.dump();
  };
  auto without = [&](const std::string& field) {
    json j = good;
    j.erase(field);
    return j.dump();
  };
  auto with_summary = [&](const std::string& field, const json& v) {
    json j = good;
    j["summary"][field] = v;
    return j.dump();
  };
  std::string text = good.dump();
  std::vector<std::string> bad = {
      "",
      " ",
      "{",
      "}",
      "[]",
      "null",
      "1",
      "\"snapshot\"",
      "{}",
      text.substr(0, text.size() - 1),
      text + "x",
      text + "{}",
      std::string("\x00", 1) + text,
      std::string(50000, '['),
      std::string(50000, '{'),
      "{\"version\":1,\"time\":\"\xff\xfe\"}",
      without("version"),
      without("time"),
      without("tree"),
      without("paths"),
      without("hostname"),
      with("version", "1"),
      with("version", nullptr),
      with("version", json::array({1})),
      with("time", 12345),
      with("time", ""),
      with("time", "yesterday"),
      with("time", "2026-11-29T16:33:13"),      // no Z
      with("time", "2026-11-29 16:33:13Z"),     // no T
      with("time", "2026-11-29T16:33:13.12x"),  // junk in the fraction
      with("tree", "abc"),
      with("tree", std::string(64, 'g')),
      with("tree", std::string(63, 'a')),
      with("tree", std::string(66, 'a')),
      with("tree", 7),
      with("paths", "/home"),
      with("paths", json::array({1, 2})),
      with("paths", json::object()),
      with("hostname", nullptr),
      with("hostname", json::array()),
      with("username", 5),
      with("uid", "1000"),
      with("gid", json::array()),
      with("tags", "daily"),
      with("tags", json::array({nullptr})),
      with("excludes", json::object({{"a", 1}})),
      with("parent", "xyz"),
      with("parent", nullptr),
      with("parent", 1),
      with("parent", std::string(64, 'Z')),
      with("program_version", 1),
      with("summary", json::array()),
      with("summary", "none"),
      with("summary", nullptr),
      with_summary("files_new", "1"),
      with_summary("bytes_total", json::array()),
      with_summary("duration_ns", "long"),
  };
  for (size_t i = 0; i < bad.size(); i++) {
    SCOPED_TRACE("variant " + std::to_string(i) + ": " + bad[i].substr(0, 120));
    EXPECT_NO_THROW(EXPECT_ERR(Decode(bad[i]), ErrorKind::kCorrupt));
  }
  // A newer format is unsupported, not corrupt.
  EXPECT_ERR(Decode(with("version", 2)), ErrorKind::kUnsupported);
  EXPECT_ERR(Decode(with("version", 0)), ErrorKind::kUnsupported);
  // The untouched text still decodes.
  EXPECT_OK(Decode(text));
}

// Numbers outside the fields' ranges are rejected, not converted (uid
// 4294967297 once decoded as 1, uid -1 as 4294967295).
TEST(SnapshotTest, OutOfRangeNumbersAreCorrupt) {
  json good = json::parse(EncodeSnapshot(FullSnapshot()));
  for (json v : {json(4294967297ull), json(-1), json(1.5)}) {
    json j = good;
    j["uid"] = v;
    auto r = Decode(j.dump());
    EXPECT_ERR(r, ErrorKind::kCorrupt) << "uid " << v.dump();
    if (r) std::printf("uid %s decoded as %u\n", v.dump().c_str(), r->uid);
  }
}

// Times outside what int64 nanoseconds can hold (before 1677-09-21 or after
// 2262-04-11) are rejected; ParseTimeUtc once overflowed on them.
TEST(SnapshotTest, TimeOutsideInt64RangeIsCorrupt) {
  json good = json::parse(EncodeSnapshot(FullSnapshot()));
  for (const char* t : {"9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "1000-01-01T00:00:00Z"}) {
    json j = good;
    j["time"] = t;
    auto r = Decode(j.dump());
    EXPECT_ERR(r, ErrorKind::kCorrupt) << t;
    if (r) std::printf("%s decoded as %lld ns = %s\n", t, (long long)r->time_ns,
                       EncodeSnapshot(*r).substr(0, 60).c_str());
  }
}

TEST(SnapshotTest, RandomMutationsNeverThrow) {
  std::string text = EncodeSnapshot(FullSnapshot());
  std::mt19937_64 rng(11);
  int ok = 0;
  for (int iter = 0; iter < 5000; iter++) {
    std::string t = text;
    for (int m = int(1 + rng() % 3); m > 0 && !t.empty(); m--) {
      size_t pos = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[pos] = "{}[]\",:0123456789aeftnrsul-.\\ "[rng() % 31]; break;
        case 1: t.erase(pos, 1 + rng() % 8); break;
        default: t.insert(pos, 1, char(rng())); break;
      }
    }
    Result<Snapshot> r = Fail(ErrorKind::kInternal, "not run");
    EXPECT_NO_THROW(r = Decode(t)) << t;
    if (r) {
      ok++;
    } else {
      EXPECT_TRUE(r.error().kind() == ErrorKind::kCorrupt ||
                  r.error().kind() == ErrorKind::kUnsupported)
          << KindName(r.error().kind());
    }
  }
  std::printf("[ snapshot ] %d of 5000 mutated snapshots still decoded\n", ok);
}

// Snapshots are stored sealed: the kind is bound, so a sealed snapshot is
// not a config and vice versa.
TEST(SealedTest, RoundTripAndKindBinding) {
  RepoKeys keys = test::FixedKeys();
  for (size_t n : {size_t(0), size_t(1), size_t(100), size_t(100000)}) {
    for (bool text : {false, true}) {
      Bytes payload = text ? test::SampleText(n) : test::PseudoRandom(n, n);
      Bytes sealed = SealObject(keys, "snapshot", payload);
      EXPECT_EQ(Bytes(sealed.begin(), sealed.begin() + 4), Bytes({'K', 'S', 'O', '1'}));
      if (text && n >= 100000) {
        EXPECT_LT(sealed.size(), n);  // compressed
      }
      auto back = OpenObject(keys, "snapshot", sealed);
      ASSERT_OK(back);
      EXPECT_EQ(*back, payload);
      EXPECT_ERR(OpenObject(keys, "config", sealed), ErrorKind::kCorrupt);
      EXPECT_ERR(OpenObject(test::FixedKeys(2), "snapshot", sealed), ErrorKind::kCorrupt);
    }
  }
  // Two seals of the same payload differ (fresh salt).
  EXPECT_NE(SealObject(keys, "x", AsBytes("same")), SealObject(keys, "x", AsBytes("same")));
}

TEST(SealedTest, EveryFlipAndTruncationFails) {
  RepoKeys keys = test::FixedKeys();
  Bytes sealed = SealObject(keys, "snapshot", AsBytes(EncodeSnapshot(FullSnapshot())));
  for (size_t i = 0; i < sealed.size(); i++) {
    Bytes bad = sealed;
    bad[i] ^= 0x10;
    EXPECT_ERR(OpenObject(keys, "snapshot", bad), ErrorKind::kCorrupt) << i;
  }
  for (size_t n = 0; n < sealed.size(); n++)
    EXPECT_ERR(OpenObject(keys, "snapshot", ByteSpan(sealed).subspan(0, n)), ErrorKind::kCorrupt)
        << n;
}

}  // namespace
}  // namespace ks
