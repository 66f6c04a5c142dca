// A GoogleTest fixture for the command-line tests: a temporary directory
// with a password file and a repository path in it.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "cli_helpers.h"

namespace kstest {

constexpr const char* kPassword = "correct horse battery staple";

#define ASSERT_EXIT_CODE(result, expected) \
  ASSERT_EQ((result).code, (expected)) << (result).Describe()
#define EXPECT_EXIT_CODE(result, expected) \
  EXPECT_EQ((result).code, (expected)) << (result).Describe()

class CliTest : public ::testing::Test {
 protected:
  CliTest()
      : password_file_(tmp_.Path("password")),
        repo_(tmp_.Path("repo"), password_file_) {
    WriteFile(password_file_, std::string(kPassword) + "\n", 0600);
  }

  void InitRepo() {
    RunResult r = repo_.Init();
    ASSERT_EXIT_CODE(r, 0);
  }

  // The last non-empty line of stdout, parsed as JSON (null if it is not).
  static nlohmann::json LastJson(const RunResult& r) {
    auto lines = SplitLines(r.out);
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    if (lines.empty()) return nullptr;
    return nlohmann::json::parse(lines.back(), nullptr, /*allow_exceptions=*/false);
  }

  // `backup --json ARGS...`; expects the given exit code and returns the
  // summary object (empty object on failure, with a test failure recorded).
  nlohmann::json Backup(const std::vector<std::string>& args, int expected_code = 0,
                        const RunOptions& o = {}) {
    std::vector<std::string> a{"--json", "backup"};
    a.insert(a.end(), args.begin(), args.end());
    RunResult r = repo_.Run(a, o);
    EXPECT_EQ(r.code, expected_code) << r.Describe();
    nlohmann::json j = LastJson(r);
    if (!j.is_object() || !j.contains("snapshot_id")) {
      ADD_FAILURE() << "no JSON summary from backup: " << r.Describe();
      return nlohmann::json::object();
    }
    return j;
  }

  // Restores `snapshot` into `target`; expects exit 0.
  void RestoreOk(const std::string& snapshot, const std::string& target,
                 const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a{"restore", snapshot, "--target", target};
    a.insert(a.end(), extra.begin(), extra.end());
    RunResult r = repo_.Run(a);
    ASSERT_EXIT_CODE(r, 0);
  }

  TempDir tmp_;
  std::string password_file_;
  TestRepo repo_;
};

}  // namespace kstest
