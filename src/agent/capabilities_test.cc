#include "agent/capabilities.h"

#include <gtest/gtest.h>

namespace runvm::agent {
namespace {

TEST(CapabilityNumber, KernelNumbering) {
  EXPECT_EQ(capability_number("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_number("CAP_KILL"), 5);
  EXPECT_EQ(capability_number("CAP_NET_BIND_SERVICE"), 10);
  EXPECT_EQ(capability_number("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_number("CAP_AUDIT_WRITE"), 29);
  EXPECT_EQ(capability_number("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_EQ(capability_number("CAP_NOPE"), std::nullopt);
  EXPECT_EQ(capability_number("kill"), std::nullopt);
}

TEST(CapabilityMask, SkipsUnknownNames) {
  EXPECT_EQ(capability_mask({}), 0u);
  EXPECT_EQ(capability_mask({"CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"}),
            (1u << 5) | (1u << 29) | (1u << 10));
  EXPECT_EQ(capability_mask({"CAP_BPF", "CAP_WHATEVER"}), uint64_t{1} << 39);
}

}  // namespace
}  // namespace runvm::agent
