#include "runtime/dns_relay.h"

#include <gtest/gtest.h>

#include "common/hex.h"

namespace runvm::runtime {
namespace {

const char* kHeader =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";

TEST(EmbeddedDnsPort, FoundOn127_0_0_11) {
  std::string text = std::string(kHeader) +
                     "  1: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n"
                     "  2: 0B00007F:B0F7 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0 0\n";
  EXPECT_EQ(embedded_dns_port(text), 0xB0F7);
}

TEST(EmbeddedDnsPort, TcpCountsOnlyAListener) {
  std::string text = std::string(kHeader) +
                     "  0: 0B00007F:9C41 0B00007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0\n"
                     "  1: 0B00007F:A1B2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0\n";
  EXPECT_EQ(embedded_dns_port(text, true), 0xA1B2);
  EXPECT_EQ(embedded_dns_port(std::string(kHeader) +
                                  "  0: 0B00007F:9C41 0B00007F:0035 01 00000000:00000000 00:00000000 00000000 0 0 4\n",
                              true),
            std::nullopt)
      << "an established connection is no server";
}

TEST(EmbeddedDnsPort, AbsentOrMalformed) {
  EXPECT_EQ(embedded_dns_port(kHeader), std::nullopt);
  EXPECT_EQ(embedded_dns_port(std::string(kHeader) + "  1: 0100007F:0035 00000000:0000 07\n"), std::nullopt);
  EXPECT_EQ(embedded_dns_port(std::string(kHeader) + "garbage\n  2: 0B00007F 1\n"), std::nullopt);
  EXPECT_EQ(embedded_dns_port(""), std::nullopt);
}

TEST(Hex, RoundTripAndRejects) {
  std::string bytes("\x00\x01\xfe\xff a", 6);
  EXPECT_EQ(hex::encode(bytes), "0001feff2061");
  EXPECT_EQ(hex::decode("0001FEff2061"), bytes);
  EXPECT_EQ(hex::decode("abc"), std::nullopt);
  EXPECT_EQ(hex::decode("zz"), std::nullopt);
  EXPECT_EQ(hex::decode(""), std::string());
}

}  // namespace
}  // namespace runvm::runtime
