// lbd's "warnings" in the answer to a change (nat VIPs whose reply tuples can
// clash): lbctl prints each on stderr and still succeeds; read commands and
// answers without warnings print none.
#include <gtest/gtest.h>

#include "cli_runner.h"

namespace xlb::lbctl::testing {
namespace {

using nlohmann::json;

json answer_with_warnings() {
  return {{"ok", true}, {"added", 1}, {"removed", 0}, {"changed", 0}, {"flows_removed", 0},
          {"warnings", {"nat VIPs a and b all send to backend c", "second"}}};
}

TEST(WarningsTest, AChangeAnsweredWithWarningsPrintsThemAndSucceeds) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"},
        std::vector<std::string>{"set-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11", "--weight", "2"},
        std::vector<std::string>{"add-vip", "198.18.100.1:80", "--proto", "tcp"}}) {
    FakeLbd lbd = FakeLbd::answering(answer_with_warnings());
    CliResult r = run_cli(lbd, args);
    EXPECT_EQ(r.code, 0) << args[0] << ": " << r.err;
    EXPECT_EQ(r.err,
              "lbctl: warning: nat VIPs a and b all send to backend c\n"
              "lbctl: warning: second\n")
        << args[0];
  }
}

TEST(WarningsTest, NoWarningsNoOutput) {
  FakeLbd lbd = FakeLbd::answering({{"ok", true}});
  CliResult r = run_cli(lbd, {"add-backend", "198.18.100.1:80", "--proto", "tcp", "198.19.0.11"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace xlb::lbctl::testing
