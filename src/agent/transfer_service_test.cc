// The agent's side of runvm cp without a VM: requests parsed and refused,
// and the `copied` message built from what the transfer wrote and how it
// ended. The transfer itself runs in the container: cp_test.
#include "agent/transfer_service.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/io.h"

namespace runvm::agent {
namespace {

using nlohmann::json;

int exited(int code) { return code << 8; }

msg::CopyIn copy_in(std::string dest, bool same_owner = false) {
  msg::CopyIn m;
  m.id = "t1";
  m.dest = std::move(dest);
  m.same_owner = same_owner;
  return m;
}

msg::CopyOut copy_out(std::string path, std::string name = "") {
  msg::CopyOut m;
  m.id = "t2";
  m.path = std::move(path);
  m.name = std::move(name);
  return m;
}

TEST(TransferService, ParsesCopyIn) {
  auto job = copy_job(copy_in("/srv", true));
  ASSERT_TRUE(job) << job.error().describe();
  EXPECT_TRUE(job->into_container);
  EXPECT_EQ(job->path, "/srv");
  EXPECT_TRUE(job->import.same_owner);
  EXPECT_TRUE(job->import.same_permissions);
  EXPECT_TRUE(job->import.allow_devices);
  auto plain = copy_job(copy_in("/srv"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->import.same_owner);  // root owns what is copied in
}

TEST(TransferService, ParsesCopyOut) {
  msg::CopyOut request = copy_out("/etc", "x");
  request.contents_only = true;
  request.follow_link = true;
  auto job = copy_job(request);
  ASSERT_TRUE(job);
  EXPECT_FALSE(job->into_container);
  EXPECT_EQ(job->export_.name, "x");
  EXPECT_TRUE(job->export_.contents_only);
  EXPECT_TRUE(job->export_.follow_link);
}

TEST(TransferService, RefusesMalformedRequests) {
  EXPECT_FALSE(copy_job(copy_in("")));
  EXPECT_FALSE(copy_job(copy_out("")));
  EXPECT_FALSE(copy_job(copy_out("/a", "a/b")));
  EXPECT_FALSE(copy_job(copy_out("/a", "..")));
  // What the typed layer refuses before: ill-typed members.
  EXPECT_FALSE(msg::CopyOut::parse({{"type", "copy_out"}, {"id", "t1"}, {"path", 3}}));
  EXPECT_FALSE(msg::CopyOut::parse({{"type", "copy_out"}, {"id", "t1"}, {"path", "/a"}, {"options", 1}}));
}

json copied_from(const std::string& written, int wait_status) {
  auto [r, w] = *io::make_pipe();
  EXPECT_TRUE(io::write_all(w.get(), written));
  w.reset();
  return copied_message("t1", r.get(), wait_status).to_json();
}

TEST(TransferService, CopiedCarriesTheResult) {
  json ok = copied_from(R"({"bytes":5,"entries":2,"errors":0})", exited(0));
  EXPECT_EQ(ok["type"], "copied");
  EXPECT_EQ(ok["id"], "t1");
  EXPECT_EQ(ok["exit_code"], 0);
  EXPECT_EQ(ok["bytes"], 5);
  EXPECT_EQ(ok["entries"], 2);
  EXPECT_TRUE(ok["error"].is_null());
  json failed = copied_from(R"({"bytes":0,"entries":0,"errors":0,"error":"destination: open /x: No such file or directory"})",
                            exited(1));
  EXPECT_EQ(failed["exit_code"], 1);
  EXPECT_EQ(failed["error"], "destination: open /x: No such file or directory");
}

TEST(TransferService, CopiedSaysHowATransferWithoutResultEnded) {
  json killed = copied_from("", SIGKILL);
  EXPECT_EQ(killed["exit_code"], 128 + SIGKILL);
  EXPECT_NE(killed["error"].get<std::string>().find("killed by signal 9"), std::string::npos) << killed;
  json garbage = copied_from("not json", exited(3));
  EXPECT_EQ(garbage["exit_code"], 3);
  EXPECT_NE(garbage["error"].get<std::string>().find("without a result"), std::string::npos) << garbage;
}

}  // namespace
}  // namespace runvm::agent
