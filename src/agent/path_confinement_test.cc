// Masked and read-only paths (agent/confinement.h), applied in a child with
// a mount namespace of its own on a scratch tree, and the create message's
// members parsed as the guest receives them.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/confinement.h"

namespace runvm::agent {
namespace {

using nlohmann::json;

class PathConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces)";
    char tmpl[] = "/tmp/runvm-confine-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/secret") << "s3cret\n";
    ::mkdir((dir_ + "/private").c_str(), 0755);
    std::ofstream(dir_ + "/private/key") << "k\n";
    ::mkdir((dir_ + "/settings").c_str(), 0755);
    std::ofstream(dir_ + "/settings/value") << "1\n";
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Applies `c` in a child with its own mount namespace, then runs `check`
  // there; the child's exit status is check's (0: all held), or 100+ for a
  // failure to set up, with the message written to `error`.
  int in_namespace(const Confinement& c, const std::function<int()>& check, std::string& error) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        ::_exit(100);
      if (Status s = apply_path_confinement(c); !s) {
        std::string m = s.error().describe();
        (void)!::write(fds[1], m.data(), m.size());
        ::_exit(101);
      }
      ::_exit(check());
    }
    ::close(fds[1]);
    char buf[512];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) error.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
};

TEST_F(PathConfinementTest, MasksAFileWithDevNullAndADirectoryWithAnEmptyReadOnlyTmpfs) {
  Confinement c;
  c.masked_paths = {dir_ + "/secret", dir_ + "/private", dir_ + "/missing", dir_ + "/missing/deeper"};
  std::string d = dir_, error;
  int failed = in_namespace(c, [d] {
    int bad = 0;
    if (!slurp(d + "/secret").empty()) bad |= 1;
    struct stat st;
    if (::stat((d + "/secret").c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) bad |= 2;
    if (::access((d + "/private/key").c_str(), F_OK) == 0) bad |= 4;
    if (::mkdir((d + "/private/new").c_str(), 0755) == 0 || errno != EROFS) bad |= 8;
    return bad;
  }, error);
  EXPECT_EQ(failed, 0) << error;
  EXPECT_EQ(slurp(dir_ + "/secret"), "s3cret\n") << "only the child's namespace is masked";
}

TEST_F(PathConfinementTest, ReadOnlyPathsRefuseWritesAndKeepTheirFlags) {
  // A nosuid,nodev,noexec mount made read-only keeps those flags, as runc's
  // readonlyPath does.
  Confinement c;
  c.readonly_paths = {dir_ + "/settings", dir_ + "/nothing-here"};
  std::string d = dir_, error;
  int failed = in_namespace(c, [d] {
    int bad = 0;
    int fd = ::open((d + "/settings/value").c_str(), O_WRONLY);
    if (fd >= 0 || errno != EROFS) bad |= 1;
    if (fd >= 0) ::close(fd);
    if (slurp(d + "/settings/value") != "1\n") bad |= 2;
    struct statvfs vfs;
    if (::statvfs((d + "/settings").c_str(), &vfs) != 0 || !(vfs.f_flag & ST_RDONLY)) bad |= 4;
    if (::mkdir((d + "/outside").c_str(), 0755) != 0) bad |= 8;  // the rest stays writable
    return bad;
  }, error);
  EXPECT_EQ(failed, 0) << error;

  Confinement flagged;
  std::string mnt = dir_ + "/settings";
  flagged.readonly_paths = {mnt};
  failed = in_namespace(flagged, [] { return 0; }, error);
  ASSERT_EQ(failed, 0) << error;
  failed = in_namespace({}, [mnt, flagged] {
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) return 50;
    if (!apply_path_confinement(flagged)) return 51;
    struct statvfs vfs;
    if (::statvfs(mnt.c_str(), &vfs) != 0) return 52;
    unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
    return (vfs.f_flag & want) == want ? 0 : 53;
  }, error);
  EXPECT_EQ(failed, 0) << error;
}

// The create message as the agent receives it: parsed at the boundary
// (proto/messages.h), then compiled.
Result<Confinement> confinement_from_create(const json& members) {
  json request = {{"type", "create"}, {"id", "init"}, {"container", "c0"}, {"process", {{"args", {"sh"}}}},
                  {"stdio", {{"stdin", "i"}, {"stdout", "o"}, {"stderr", "e"}}}};
  request.update(members);
  msg::Create create = TRY(msg::Create::parse(request));
  return confinement_of(create);
}

TEST(ConfinementFromCreate, ParsesAndCompilesWhatTheHostSent) {
  json request = {{"masked_paths", {"/proc/kcore"}},
                  {"readonly_paths", {"/proc/sys"}},
                  {"seccomp", {{"defaultAction", "SCMP_ACT_ALLOW"},
                               {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}}}};
  auto c = confinement_from_create(request);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->masked_paths, (std::vector<std::string>{"/proc/kcore"}));
  EXPECT_EQ(c->readonly_paths, (std::vector<std::string>{"/proc/sys"}));
  ASSERT_NE(c->filter(), nullptr);
  EXPECT_FALSE(c->filter()->instructions.empty());

  auto none = confinement_from_create({{"seccomp", nullptr}});
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_EQ(none->filter(), nullptr);
  EXPECT_TRUE(none->masked_paths.empty());
}

TEST(ConfinementFromCreate, RefusesWhatIsMalformed) {
  auto relative = confinement_from_create({{"masked_paths", {"/ok", "proc/kcore"}}});
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().message(), "create.masked_paths[1]: must be an absolute path (got \"proc/kcore\")");
  auto notify = confinement_from_create(
      {{"seccomp", {{"defaultAction", "SCMP_ACT_ALLOW"},
                    {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_NOTIFY"}}}}}}});
  ASSERT_FALSE(notify);
  EXPECT_EQ(notify.error().message().rfind("create.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported", 0),
            0u)
      << notify.error().message();
  auto not_array = confinement_from_create({{"readonly_paths", "/proc/sys"}});
  ASSERT_FALSE(not_array);
  EXPECT_EQ(not_array.error().message(), "create.readonly_paths: expected an array");
}

}  // namespace
}  // namespace runvm::agent
