// json_deeper_than (core/request_limits.h): the scan lbd runs on a request
// before parsing it.
#include <gtest/gtest.h>

#include <string>

#include "core/request_limits.h"

namespace xlb {
namespace {

std::string nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(JsonDepthTest, CountsArraysAndObjects) {
  EXPECT_FALSE(json_deeper_than("", 0));
  EXPECT_FALSE(json_deeper_than("42", 0));
  EXPECT_TRUE(json_deeper_than("[]", 0));
  EXPECT_FALSE(json_deeper_than(nested(64), 64));
  EXPECT_TRUE(json_deeper_than(nested(65), 64));
  EXPECT_FALSE(json_deeper_than(R"({"a":[{"b":[1,2]}]})", 4));
  EXPECT_TRUE(json_deeper_than(R"({"a":[{"b":[1,2]}]})", 3));
  // Mixed kinds count alike.
  EXPECT_TRUE(json_deeper_than(R"([{"a":[{"b":{}}]}])", 4));
  EXPECT_FALSE(json_deeper_than(R"([{"a":[{"b":{}}]}])", 5));
}

TEST(JsonDepthTest, DepthIsTheMaximumNotTheTotal) {
  std::string many;
  for (int i = 0; i < 1000; i++) many += "[[]],";
  EXPECT_FALSE(json_deeper_than("[" + many + "0]", 3));
}

TEST(JsonDepthTest, BracketsInStringsDoNotCount) {
  EXPECT_FALSE(json_deeper_than(R"({"k":"[[[[[[{{{{"})", 1));
  // An escaped quote does not end the string; an escaped backslash does not
  // escape the quote after it.
  EXPECT_FALSE(json_deeper_than(R"({"k":"\"[[[[[["})", 1));
  EXPECT_TRUE(json_deeper_than(R"({"k":"\\"[[[[[["})", 1));
  EXPECT_FALSE(json_deeper_than(R"({"k":"\\\"[[[[[["})", 1));
}

TEST(JsonDepthTest, UnterminatedOrUnbalancedInputIsLeftToTheParser) {
  EXPECT_FALSE(json_deeper_than("]]]]]]]][", 1));
  EXPECT_TRUE(json_deeper_than(std::string(65, '['), 64));
  EXPECT_FALSE(json_deeper_than("\"[[[[[[[[", 1));
}

TEST(JsonDepthTest, A16MiBNestedArrayIsCheap) {
  // lbd's cap on a request, all of it one nesting: the parser took 7.6 s of
  // CPU on this; the scan stops at the bound (no timing asserted here: the
  // server test checks such a request is refused).
  std::string deep(kMaxRequestBytes, '[');
  EXPECT_TRUE(json_deeper_than(deep, kMaxJsonDepth));
  // Flat, so the scan reads every byte.
  std::string flat(kMaxRequestBytes, ' ');
  flat.front() = '[';
  flat.back() = ']';
  EXPECT_FALSE(json_deeper_than(flat, kMaxJsonDepth));
}

}  // namespace
}  // namespace xlb
