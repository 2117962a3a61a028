#include "vm/accel.h"

#include <gtest/gtest.h>

namespace runvm::vm {
namespace {

HostFacts facts(bool virt, bool usable) {
  return HostFacts{virt, usable, usable ? "" : "/dev/kvm cannot be opened: No such file"};
}

TEST(Accel, AutoPicksKvmOnlyWithHardwareVirtualizationAndWorkingKvm) {
  EXPECT_EQ(decide_accel(AccelRequest::automatic, facts(true, true))->accel, Accel::kvm);
  EXPECT_EQ(decide_accel(AccelRequest::automatic, facts(false, true))->accel, Accel::tcg);
  EXPECT_EQ(decide_accel(AccelRequest::automatic, facts(true, false))->accel, Accel::tcg);
  EXPECT_EQ(decide_accel(AccelRequest::automatic, facts(false, false))->accel, Accel::tcg);
}

TEST(Accel, ForcedChoicesAreHonouredOrExplained) {
  EXPECT_EQ(decide_accel(AccelRequest::tcg, facts(true, true))->accel, Accel::tcg);
  EXPECT_EQ(decide_accel(AccelRequest::kvm, facts(false, true))->accel, Accel::kvm);
  auto r = decide_accel(AccelRequest::kvm, facts(true, false));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("KVM is not usable: /dev/kvm cannot be opened"),
            std::string::npos);
}

TEST(Accel, ParsesRequests) {
  EXPECT_EQ(*parse_accel_request("auto"), AccelRequest::automatic);
  EXPECT_EQ(*parse_accel_request("kvm"), AccelRequest::kvm);
  EXPECT_EQ(*parse_accel_request("tcg"), AccelRequest::tcg);
  auto bad = parse_accel_request("hvf");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "unknown accelerator \"hvf\": use kvm, tcg or auto");
}

}  // namespace
}  // namespace runvm::vm
