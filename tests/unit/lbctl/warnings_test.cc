// lbd's "warnings" in the answer to a change (nat VIPs whose reply tuples can
// clash): lbctl prints each on stderr and still succeeds; read commands and
// answers without warnings print none.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

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

TEST(WarningsTest, ApplyPrintsARingSlotWarningAndSucceeds) {
  const std::string warning =
      "VIP 198.18.100.1:80/tcp: 2001 active backends but ring_size 251: at least 1750 get no ring slot (no new "
      "flows); raise ring_size";
  FakeLbd lbd =
      FakeLbd::answering({{"ok", true}, {"added", 2002}, {"removed", 0}, {"changed", 0}, {"warnings", {warning}}});
  std::string path = lbd.path() + ".json";  // inside the fake's temp dir
  std::ofstream(path) << R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 251}]})";
  CliResult r = run_cli(lbd, {"apply", "-f", path});
  ::unlink(path.c_str());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "added 2002, removed 0, changed 0\n");
  EXPECT_EQ(r.err, "lbctl: warning: " + warning + "\n");
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
