#include "common/json_bytes.h"

#include <gtest/gtest.h>

namespace runvm::json_bytes {
namespace {

TEST(JsonBytes, Utf8IsCheckedStrictly) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain ascii"));
  EXPECT_TRUE(is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("a\xc3"));              // cut short
  EXPECT_FALSE(is_utf8("\xc0\xaf"));           // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));       // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));   // past U+10FFFF
  EXPECT_FALSE(is_utf8("\xe2\x82"));
}

TEST(JsonBytes, UnicodeTextStaysAString) {
  EXPECT_EQ(encode("caf\xc3\xa9"), nlohmann::json("caf\xc3\xa9"));
}

TEST(JsonBytes, OtherBytesRoundTripThroughText) {
  std::string bytes = std::string("/tmp/b\xff\xfe", 8) + std::string(1, '\0') + "x";
  nlohmann::json j = {{"bundle", encode(bytes)}};
  std::string text = j.dump();  // would throw type_error.316 on raw bytes
  auto back = decode(nlohmann::json::parse(text)["bundle"], "bundle");
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(*back, bytes);
}

TEST(JsonBytes, MalformedFormsAreErrors) {
  for (const char* text : {R"(1)", R"({"hex":"abc"})", R"({"hex":"zz"})", R"({"hex":1})",
                           R"({"hex":"00","x":1})", R"(null)", R"([])"}) {
    auto r = decode(nlohmann::json::parse(text), "args[0]");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message().find("args[0]"), std::string::npos);
  }
}

TEST(JsonBytes, ToTextNeverThrows) {
  EXPECT_EQ(to_text(nlohmann::json(std::string("a\xff"))), "\"a\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace runvm::json_bytes
