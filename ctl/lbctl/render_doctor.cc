// lbctl doctor's text: one line per check, then each finding with its fix.
#include <string>

#include "lbctl/render.h"

namespace xlb::lbctl {

void render_doctor(const Json& answer, std::ostream& out) {
  for (const Json& c : answer.at("checks")) {
    std::string status = c.at("status").get<std::string>();
    out << (status == "problem" ? "PROBLEM " : status == "note" ? "note    " : "ok      ")
        << c.at("name").get<std::string>() << '\n';
  }
  size_t problems = 0, notes = 0;
  for (const Json& f : answer.at("findings")) {
    bool problem = f.at("level").get<std::string>() == "problem";
    (problem ? problems : notes)++;
    out << '\n'
        << (problem ? "PROBLEM" : "note") << " [" << f.at("check").get<std::string>() << "] "
        << f.at("subject").get<std::string>() << "\n  " << f.at("what").get<std::string>() << "\n  fix: "
        << f.at("fix").get<std::string>() << '\n';
  }
  out << '\n';
  if (problems)
    out << problems << (problems == 1 ? " problem" : " problems");
  else
    out << "no problems";
  if (notes) out << ", " << notes << (notes == 1 ? " note" : " notes");
  out << " (docs/troubleshooting.md explains each check)\n";
}

}  // namespace xlb::lbctl
