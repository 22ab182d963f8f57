#include "baimo/serve/http_checks.h"

#include <gtest/gtest.h>

namespace baimo::serve {
namespace http_checks_test {

int status_of(const std::vector<std::string>& cl, const std::vector<std::string>& te = {}, size_t max = 1000) {
  auto e = body_framing_error(cl, te, max);
  return e ? e->status : 0;
}

TEST(HttpChecks, BodyFraming) {
  EXPECT_EQ(status_of({}), 0);
  EXPECT_EQ(status_of({"12"}), 0);
  EXPECT_EQ(status_of({"12", "12"}), 0);       // equal repeats are one value
  EXPECT_EQ(status_of({"12", "13"}), 400);     // conflicting duplicates
  EXPECT_EQ(status_of({"-1"}), 400);           // not a length: refused before reading anything
  EXPECT_EQ(status_of({"5, 5"}), 400);
  EXPECT_EQ(status_of({""}), 400);
  EXPECT_EQ(status_of({"0x10"}), 400);
  EXPECT_EQ(status_of({"1001"}), 413);
  EXPECT_EQ(status_of({"99999999999999999999999"}), 413);  // saturates, no overflow
  EXPECT_EQ(status_of({}, {"chunked"}), 0);
  EXPECT_EQ(status_of({}, {"Chunked"}), 0);
  EXPECT_EQ(status_of({"3"}, {"chunked"}), 400);  // smuggling
  EXPECT_EQ(status_of({}, {"gzip, chunked"}), 400);
  auto e = body_framing_error({"1", "2"}, {}, 10);
  ASSERT_TRUE(e);
  EXPECT_NE(std::string(e->what()).find("Conflicting Content-Length"), std::string::npos);
}

TEST(HttpChecks, BearerSchemeIsCaseInsensitive) {
  EXPECT_EQ(bearer_key("Bearer sk-1"), "sk-1");
  EXPECT_EQ(bearer_key("bearer sk-1"), "sk-1");
  EXPECT_EQ(bearer_key("BEARER  sk-1 "), "sk-1");
  EXPECT_EQ(bearer_key("Bearer\tsk-1"), "sk-1");
  EXPECT_EQ(bearer_key("Basic c2s6MQ=="), std::nullopt);
  EXPECT_EQ(bearer_key("Bearer "), std::nullopt);
  EXPECT_EQ(bearer_key("Bearersk-1"), std::nullopt);
  EXPECT_EQ(bearer_key(""), std::nullopt);
}

TEST(HttpChecks, AllowedMethodsOfKnownRoutes) {
  EXPECT_EQ(allowed_methods("/v1/chat/completions"), "POST");
  EXPECT_EQ(allowed_methods("/v1/completions"), "POST");
  EXPECT_EQ(allowed_methods("/v1/models"), "GET, HEAD");
  EXPECT_EQ(allowed_methods("/v1/models/tiny"), "GET, HEAD");
  EXPECT_EQ(allowed_methods("/health"), "GET, HEAD");
  EXPECT_EQ(allowed_methods("/"), "GET, HEAD");
  EXPECT_EQ(allowed_methods("/v1/nothing"), "");
}

}  // namespace http_checks_test

}  // namespace baimo::serve
