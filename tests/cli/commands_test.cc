// Passwords, repository selection, snapshot references, key management,
// diff, ls and snapshots through the command line.
#include <unistd.h>

#include <algorithm>
#include <set>

#include "cli_fixture.h"

namespace kstest {
namespace {

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

bool IsHex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// ---------------------------------------------------------------------------
// 3. Passwords, repository selection and snapshot references.

TEST_F(CliTest, PasswordsRepositoriesAndSnapshotReferences) {
  const std::string src = tmp_.Mkdir("src");
  WriteFile(src + "/file.txt", "content\n");
  ASSERT_NO_FATAL_FAILURE(InitRepo());
  nlohmann::json s = Backup({src});
  ASSERT_FALSE(s.empty());
  const std::string id = s["snapshot_id"];
  ASSERT_EQ(id.size(), 64u);

  // Wrong password: exit 12 and says so, for every command.
  const std::string wrong = tmp_.Path("wrong-password");
  WriteFile(wrong, "not the password\n");
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"snapshots"}, {"ls", "latest"}, {"check"}, {"key", "list"},
        {"backup", src}, {"restore", "latest", "--target", tmp_.Path("never")}}) {
    std::vector<std::string> args{"-r", repo_.path(), "--password-file", wrong};
    args.insert(args.end(), cmd.begin(), cmd.end());
    RunResult r = Ks(args);
    EXPECT_EXIT_CODE(r, 12);
    EXPECT_NE(r.err.find("wrong password"), std::string::npos) << cmd[0] << ": " << r.err;
  }
  EXPECT_EQ(access(tmp_.Path("never").c_str(), F_OK), -1) << "restore wrote with a wrong password";
  // Only the first line of a password file is the password.
  WriteFile(wrong, std::string(kPassword) + "x\n");
  EXPECT_EXIT_CODE(Ks({"-r", repo_.path(), "--password-file", wrong, "snapshots"}), 12);
  WriteFile(wrong, std::string(kPassword) + "\nsecond line ignored\n");
  EXPECT_EXIT_CODE(Ks({"-r", repo_.path(), "--password-file", wrong, "snapshots"}), 0);

  // Environment variables instead of options.
  RunOptions env_pw;
  env_pw.env = {{"KINTSUGI_PASSWORD", kPassword}};
  RunResult r = Ks({"-r", repo_.path(), "ls", "latest"}, env_pw);
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_NE(r.out.find(src + "/file.txt"), std::string::npos) << r.out;
  env_pw.env = {{"KINTSUGI_PASSWORD", "wrong"}};
  r = Ks({"-r", repo_.path(), "ls", "latest"}, env_pw);
  EXPECT_EXIT_CODE(r, 12);
  RunOptions env_all;
  env_all.env = {{"KINTSUGI_REPOSITORY", repo_.path()},
                 {"KINTSUGI_PASSWORD_FILE", password_file_}};
  r = Ks({"--json", "snapshots"}, env_all);
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 1u);
  // --password-file wins over KINTSUGI_PASSWORD.
  env_pw.env = {{"KINTSUGI_PASSWORD", "wrong"}};
  EXPECT_EXIT_CODE(repo_.Run({"snapshots"}, env_pw), 0);

  // No repository there: 10, without asking for a password.
  r = Ks({"-r", tmp_.Path("no-such-repo"), "snapshots"});
  EXPECT_EXIT_CODE(r, 10);
  EXPECT_NE(r.err.find("no repository"), std::string::npos) << r.err;
  r = Ks({"-r", tmp_.Path("no-such-repo"), "--password-file", password_file_, "backup", src});
  EXPECT_EXIT_CODE(r, 10);
  // No repository given at all: usage error 2.
  r = Ks({"--password-file", password_file_, "snapshots"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_NE(r.err.find("no repository given"), std::string::npos) << r.err;
  // Unknown command / option: usage error.
  EXPECT_EXIT_CODE(Ks({"frobnicate"}), 2);
  EXPECT_EXIT_CODE(repo_.Run({"backup", "--no-such-option", src}), 2);
  // init over an existing repository fails and leaves it working.
  r = repo_.Init();
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EXIT_CODE(repo_.Run({"ls", "latest"}), 0);

  // Snapshot references: latest, full id, 8-hex prefix.
  for (const std::string& ref : {std::string("latest"), id, id.substr(0, 8), id.substr(0, 13)}) {
    r = repo_.Run({"ls", ref, src});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_EQ(SplitLines(r.out), (std::vector<std::string>{src, src + "/file.txt"})) << ref;
  }
  // Bad references fail with a message and restore nothing.
  std::string other = id.substr(0, 8);
  other[0] = other[0] == '0' ? '1' : '0';
  struct Bad {
    std::string ref, message;
  };
  for (const Bad& b : {Bad{"zzzzzzzz", "at least 8 hex digits"},
                       Bad{id.substr(0, 7), "at least 8 hex digits"},
                       Bad{"", "at least 8 hex digits"},
                       Bad{other, "no snapshot matches"}}) {
    r = repo_.Run({"restore", b.ref, "--target", tmp_.Path("bad-ref")});
    EXPECT_NE(r.code, 0) << "ref '" << b.ref << "': " << r.Describe();
    EXPECT_NE(r.err.find(b.message), std::string::npos) << "ref '" << b.ref << "': " << r.err;
    r = repo_.Run({"ls", b.ref});
    EXPECT_NE(r.code, 0) << "ref '" << b.ref << "': " << r.Describe();
    EXPECT_NE(r.err.find(b.message), std::string::npos) << "ref '" << b.ref << "': " << r.err;
  }
  EXPECT_EQ(access(tmp_.Path("bad-ref").c_str(), F_OK), -1);
  // An empty repository has no "latest".
  TestRepo empty(tmp_.Path("empty-repo"), password_file_);
  ASSERT_EXIT_CODE(empty.Init(), 0);
  r = empty.Run({"ls", "latest"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_NE(r.err.find("no snapshots"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------
// 8. Keys: add, list, remove, passwd.

TEST_F(CliTest, KeyManagement) {
  ASSERT_NO_FATAL_FAILURE(InitRepo());
  const std::string pw_b = tmp_.Path("password-b"), pw_c = tmp_.Path("password-c");
  WriteFile(pw_b, "second password\n");
  WriteFile(pw_c, "third password\n");
  TestRepo as_b(repo_.path(), pw_b), as_c(repo_.path(), pw_c);

  auto list = [](const TestRepo& r) {
    RunResult res = r.Run({"--json", "key", "list"});
    EXPECT_EXIT_CODE(res, 0);
    nlohmann::json j = nlohmann::json::parse(res.out, nullptr, false);
    return j.is_array() ? j : nlohmann::json::array();
  };
  nlohmann::json keys = list(repo_);
  ASSERT_EQ(keys.size(), 1u);
  const std::string key_a = keys[0]["id"];
  EXPECT_TRUE(keys[0]["current"].get<bool>());
  EXPECT_TRUE(IsHex(key_a) && key_a.size() == 64) << key_a;
  EXPECT_EQ(keys[0]["hostname"], HostName());

  RunResult add = repo_.Run({"--json", "key", "add", "--new-password-file", pw_b,
                             "--kdf-memory-mib", "8", "--kdf-iterations", "1"});
  ASSERT_EXIT_CODE(add, 0);
  const std::string key_b = LastJson(add)["id"];
  ASSERT_EQ(key_b.size(), 64u);
  ASSERT_NE(key_b, key_a);

  keys = list(repo_);
  ASSERT_EQ(keys.size(), 2u);
  std::set<std::string> ids, current;
  for (const auto& k : keys) {
    ids.insert(k["id"].get<std::string>());
    if (k["current"].get<bool>()) current.insert(k["id"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::set<std::string>{key_a, key_b}));
  EXPECT_EQ(current, std::set<std::string>{key_a});
  // Either password opens the repository; the key in use is the one it opened.
  keys = list(as_b);
  for (const auto& k : keys) EXPECT_EQ(k["current"].get<bool>(), k["id"] == key_b) << keys.dump();
  EXPECT_EXIT_CODE(as_c.Run({"key", "list"}), 12);

  // The key in use cannot be removed.
  RunResult rm = repo_.Run({"key", "remove", key_a});
  EXPECT_NE(rm.code, 0) << rm.Describe();
  EXPECT_NE(rm.err.find("key in use"), std::string::npos) << rm.err;
  EXPECT_EQ(list(repo_).size(), 2u);
  // Another one can, by 8-digit prefix.
  rm = repo_.Run({"key", "remove", key_b.substr(0, 8)});
  EXPECT_EXIT_CODE(rm, 0);
  EXPECT_EQ(list(repo_).size(), 1u);
  EXPECT_EXIT_CODE(as_b.Run({"key", "list"}), 12);
  // The last key can never be removed, not even by another process that
  // opened it (key remove refuses the last key before anything else).
  rm = repo_.Run({"key", "remove", key_a});
  EXPECT_NE(rm.code, 0) << rm.Describe();
  EXPECT_NE(rm.err.find("last key"), std::string::npos) << rm.err;
  EXPECT_EQ(list(repo_).size(), 1u);

  // passwd replaces the key in use.
  RunResult pw = repo_.Run({"key", "passwd", "--new-password-file", pw_c, "--kdf-memory-mib", "8",
                            "--kdf-iterations", "1"});
  ASSERT_EXIT_CODE(pw, 0);
  RunResult old = repo_.Run({"snapshots"});
  EXPECT_EXIT_CODE(old, 12);
  EXPECT_NE(old.err.find("wrong password"), std::string::npos) << old.err;
  keys = list(as_c);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_NE(keys[0]["id"], key_a);
  EXPECT_TRUE(keys[0]["current"].get<bool>());
  // The data is still readable with the new password.
  const std::string src = tmp_.Mkdir("src");
  WriteFile(src + "/f", "after passwd\n");
  RunResult b = as_c.Run({"backup", src});
  EXPECT_EXIT_CODE(b, 0);
  EXPECT_EXIT_CODE(as_c.Run({"check", "--read-data"}), 0);
}

// ---------------------------------------------------------------------------
// 9. diff, ls and snapshots.

TEST_F(CliTest, DiffLsAndSnapshots) {
  const std::string src = tmp_.Mkdir("src");
  tmp_.Mkdir("src/sub/d");
  tmp_.Mkdir("src/subway");
  WriteFile(src + "/a.txt", "a\n");
  WriteFile(src + "/b.txt", "b\n");
  WriteFile(src + "/sub/c.txt", "c version 1\n");
  WriteFile(src + "/sub/d/e.txt", "e\n");
  WriteFile(src + "/subway/f.txt", "f\n");
  ASSERT_NO_FATAL_FAILURE(InitRepo());
  nlohmann::json s1 = Backup({"--tag", "first", "--tag", "monday", src});
  ASSERT_FALSE(s1.empty());

  WriteFile(src + "/sub/c.txt", "c version 2, longer\n");
  WriteFile(src + "/sub/new.txt", "new\n");
  nlohmann::json s2 = Backup({"--tag", "second", src});
  ASSERT_FALSE(s2.empty());
  const std::string id1 = s1["snapshot_id"], id2 = s2["snapshot_id"];

  RunResult diff = repo_.Run({"diff", id1.substr(0, 8), id2.substr(0, 8)});
  ASSERT_EXIT_CODE(diff, 0);
  std::vector<std::string> changes;
  for (const auto& l : SplitLines(diff.out))
    if (l.size() > 5 && l.substr(1, 4) == "    ") changes.push_back(l);
  EXPECT_EQ(changes, (std::vector<std::string>{"M    " + src + "/sub/c.txt",
                                               "+    " + src + "/sub/new.txt"}))
      << diff.out;
  EXPECT_NE(diff.out.find("1 added, 0 removed, 1 modified, 0 metadata only, 0 changed type"),
            std::string::npos)
      << diff.out;
  RunResult jdiff = repo_.Run({"--json", "diff", id1, "latest"});
  ASSERT_EXIT_CODE(jdiff, 0);
  nlohmann::json jd = LastJson(jdiff);
  ASSERT_TRUE(jd.is_object()) << jdiff.out;
  EXPECT_EQ(jd["added"], 1);
  EXPECT_EQ(jd["modified"], 1);
  EXPECT_EQ(jd["removed"], 0);
  ASSERT_EQ(jd["changes"].size(), 2u) << jd.dump();
  // The reverse direction removes what was added.
  RunResult rdiff = repo_.Run({"diff", id2, id1});
  ASSERT_EXIT_CODE(rdiff, 0);
  EXPECT_NE(rdiff.out.find("-    " + src + "/sub/new.txt\n"), std::string::npos) << rdiff.out;

  // ls PATH: only that path and what is below it ("subway" is not below "sub").
  const std::vector<std::string> sub_listing = {src + "/sub", src + "/sub/c.txt", src + "/sub/d",
                                                src + "/sub/d/e.txt", src + "/sub/new.txt"};
  for (const std::string& p : {src + "/sub", src + "/sub/"}) {
    RunResult ls = repo_.Run({"ls", "latest", p});
    ASSERT_EXIT_CODE(ls, 0);
    EXPECT_EQ(SplitLines(ls.out), sub_listing) << "ls latest " << p;
  }
  RunResult ls = repo_.Run({"ls", id1, src + "/sub"});
  ASSERT_EXIT_CODE(ls, 0);
  EXPECT_EQ(SplitLines(ls.out), (std::vector<std::string>{src + "/sub", src + "/sub/c.txt",
                                                          src + "/sub/d", src + "/sub/d/e.txt"}));
  ls = repo_.Run({"ls", "latest", src + "/su"});
  ASSERT_EXIT_CODE(ls, 0);
  EXPECT_EQ(ls.out, "");
  ls = repo_.Run({"ls", "latest", src + "/sub/c.txt"});
  ASSERT_EXIT_CODE(ls, 0);
  EXPECT_EQ(SplitLines(ls.out), std::vector<std::string>{src + "/sub/c.txt"});
  ls = repo_.Run({"--json", "ls", "latest", src + "/sub/c.txt"});
  ASSERT_EXIT_CODE(ls, 0);
  nlohmann::json node = LastJson(ls);
  ASSERT_TRUE(node.is_object()) << ls.out;
  EXPECT_EQ(node["path"], src + "/sub/c.txt");
  EXPECT_EQ(node["type"], "file");
  EXPECT_EQ(node["size"], 20);
  // Without a path: every ancestor of the backed-up path, then the tree.
  ls = repo_.Run({"ls", "latest"});
  ASSERT_EXIT_CODE(ls, 0);
  auto all = SplitLines(ls.out);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front(), "/" + src.substr(1, src.find('/', 1) - 1));
  EXPECT_EQ(all.back(), src + "/subway/f.txt");
  EXPECT_EQ(all.size(), size_t(std::count(src.begin(), src.end(), '/')) + 9) << ls.out;

  // snapshots --json: an array, oldest first, with the recorded fields.
  RunResult snaps = repo_.Run({"--json", "snapshots"});
  ASSERT_EXIT_CODE(snaps, 0);
  nlohmann::json arr = nlohmann::json::parse(snaps.out, nullptr, false);
  ASSERT_TRUE(arr.is_array()) << snaps.out;
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["id"], id1);
  EXPECT_EQ(arr[1]["id"], id2);
  for (const auto& s : arr) {
    EXPECT_TRUE(IsHex(s["id"]) && s["id"].get<std::string>().size() == 64) << s.dump();
    EXPECT_EQ(s["hostname"], HostName());
    EXPECT_EQ(s["paths"], nlohmann::json::array({src}));
    ASSERT_TRUE(s["time"].is_string()) << s.dump();
    EXPECT_EQ(s["time"].get<std::string>().substr(0, 2), "20") << s.dump();
  }
  EXPECT_EQ(arr[0]["tags"], nlohmann::json::array({"first", "monday"}));
  EXPECT_EQ(arr[1]["tags"], nlohmann::json::array({"second"}));
  EXPECT_EQ(arr[1]["parent"], id1) << "the second backup should use the first as parent";
  EXPECT_LE(arr[0]["time"].get<std::string>(), arr[1]["time"].get<std::string>());
  // Filtering by tag.
  snaps = repo_.Run({"--json", "snapshots", "--tag", "second"});
  ASSERT_EXIT_CODE(snaps, 0);
  arr = nlohmann::json::parse(snaps.out, nullptr, false);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], id2);
  // The table lists both with their short ids.
  snaps = repo_.Run({"snapshots"});
  ASSERT_EXIT_CODE(snaps, 0);
  EXPECT_NE(snaps.out.find(id1.substr(0, 8)), std::string::npos);
  EXPECT_NE(snaps.out.find(id2.substr(0, 8)), std::string::npos);
  EXPECT_NE(snaps.out.find("2 snapshots"), std::string::npos) << snaps.out;
}

}  // namespace
}  // namespace kstest
