#include "runtime/port_forward.h"

#include <gtest/gtest.h>

namespace runvm::runtime {
namespace {

oci::Spec with_annotation(const char* value) {
  oci::Spec spec;
  if (value) spec.annotations[kPortForwardAnnotation] = value;
  return spec;
}

TEST(PortForwarder, OnUnlessTheAnnotationTurnsItOff) {
  EXPECT_TRUE(*PortForwarder::wanted(with_annotation(nullptr)));
  EXPECT_TRUE(*PortForwarder::wanted(with_annotation("true")));
  EXPECT_FALSE(*PortForwarder::wanted(with_annotation("false")));
  auto bad = PortForwarder::wanted(with_annotation("no"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "annotation io.runvm.port-forward: expected \"true\" or \"false\", not \"no\"");
}

}  // namespace
}  // namespace runvm::runtime
