// The RADOS and S3 locations are modules that the kintsugi executable loads
// only when a location needs them (backend/module_loader.h): it loads them
// from beside itself, works without them for local repositories, and says
// clearly when one is missing or from another build.
#include <sys/stat.h>

#include "cli_fixture.h"

namespace kstest {
namespace {

constexpr const char* kUnreachableBucket = "s3:http://127.0.0.1:1/bucket";  // nothing listens on port 1

// Copies a file, keeping it executable.
void CopyExecutable(const std::string& from, const std::string& to) {
  WriteFile(to, ReadFile(from), 0755);
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ModulesTest : public CliTest {
 protected:
  // `EXE -r LOCATION snapshots`, with S3 credentials set so that an S3
  // location gets as far as connecting.
  RunResult Snapshots(const std::string& exe, const std::string& location) const {
    RunOptions o;
    o.env = {{"AWS_ACCESS_KEY_ID", "test"}, {"AWS_SECRET_ACCESS_KEY", "test"}};
    return kstest::Run({exe, "-r", location, "--password-file", password_file_, "snapshots"}, o);
  }
  // A copy of the kintsugi executable alone in a directory "bin".
  std::string ExecutableAlone() const {
    const std::string exe = tmp_.Mkdir("bin") + "/kintsugi";
    CopyExecutable(KsBinary(), exe);
    return exe;
  }
};

TEST_F(ModulesTest, S3ModuleLoadsBesideTheExecutable) {
  // Only the S3 code can say it cannot reach the server: the module loaded.
  RunResult r = Snapshots(KsBinary(), kUnreachableBucket);
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_TRUE(Contains(r.err, "cannot reach the S3 server")) << r.Describe();
  EXPECT_FALSE(Contains(r.err, "not installed")) << r.Describe();
}

TEST_F(ModulesTest, ExecutableAloneRunsLocalRepositoriesAndNamesMissingModules) {
  ASSERT_NO_FATAL_FAILURE(InitRepo());
  const std::string alone = ExecutableAlone();
  auto run = [&](const std::string& location) { return Snapshots(alone, location); };

  EXPECT_EXIT_CODE(run(repo_.path()), 0);

  RunResult s3 = run(kUnreachableBucket);
  EXPECT_EXIT_CODE(s3, 1);
  EXPECT_TRUE(Contains(s3.err, "S3 support is not installed: kintsugi-s3.so is neither beside "
                               "the kintsugi executable (in " + tmp_.Path("bin") + ")"))
      << s3.Describe();
  EXPECT_TRUE(Contains(s3.err, tmp_.path() + "/lib/kintsugi;")) << s3.Describe();
  EXPECT_EQ(SplitLines(s3.err).size(), 1u) << s3.Describe();

  // One of several locations needs the module: the same message.
  RunResult mixed = run(repo_.path() + "," + kUnreachableBucket);
  EXPECT_EXIT_CODE(mixed, 1);
  EXPECT_TRUE(Contains(mixed.err, "S3 support is not installed")) << mixed.Describe();

  RunResult rados = run("rados:pool");
  EXPECT_EXIT_CODE(rados, 1);
  EXPECT_TRUE(Contains(rados.err, "RADOS support is not installed: kintsugi-rados.so"))
      << rados.Describe();

  // The second place looked in: ../lib/kintsugi.
  tmp_.Mkdir("lib/kintsugi");
  CopyExecutable(KS_S3_MODULE, tmp_.Path("lib/kintsugi/kintsugi-s3.so"));
  RunResult found = run(kUnreachableBucket);
  EXPECT_EXIT_CODE(found, 1);
  EXPECT_TRUE(Contains(found.err, "cannot reach the S3 server")) << found.Describe();
}

TEST_F(ModulesTest, ModuleFromAnotherBuildIsRefused) {
  const std::string alone = ExecutableAlone();
  // Another ABI version, then the same ABI version from another build.
  for (const char* stale : {KS_STALE_MODULE, KS_STALE_BUILD_MODULE}) {
    SCOPED_TRACE(stale);
    CopyExecutable(stale, tmp_.Path("bin/kintsugi-s3.so"));
    RunResult r = Snapshots(alone, kUnreachableBucket);
    EXPECT_EXIT_CODE(r, 1);
    EXPECT_TRUE(Contains(r.err, "cannot load S3 support from " + tmp_.Path("bin/kintsugi-s3.so") +
                                    ": it is from another kintsugi build"))
        << r.Describe();
  }
}

// `cmake --install` lays out a tree the executable finds its modules in
// without any path set: bin/kintsugi and lib/kintsugi/*.so.
TEST_F(ModulesTest, InstalledTreeFindsItsModules) {
  const std::string prefix = tmp_.Path("prefix");
  RunResult install = kstest::Run({KS_CMAKE, "--install", KS_BUILD_DIR, "--prefix", prefix});
  ASSERT_EXIT_CODE(install, 0);
  const std::string exe = prefix + "/bin/kintsugi";
  struct stat st;
  ASSERT_EQ(::stat((prefix + "/lib/kintsugi/kintsugi-s3.so").c_str(), &st), 0) << install.Describe();
  ASSERT_EQ(::stat((prefix + "/share/doc/kintsugi/design.md").c_str(), &st), 0);

  ASSERT_NO_FATAL_FAILURE(InitRepo());
  EXPECT_EXIT_CODE(Snapshots(exe, repo_.path()), 0);
  RunResult s3 = Snapshots(exe, kUnreachableBucket);
  EXPECT_EXIT_CODE(s3, 1);
  EXPECT_TRUE(Contains(s3.err, "cannot reach the S3 server")) << s3.Describe();
  EXPECT_FALSE(Contains(s3.err, "not installed")) << s3.Describe();
}

}  // namespace
}  // namespace kstest
