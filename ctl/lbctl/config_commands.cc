#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/request_limits.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

// A file that cannot be read is an operation failure (exit 1): the command
// line was right, the environment was not. One larger than lbd takes as a
// request is bad input (exit 2), found after reading one byte past the cap,
// so /dev/zero or a runaway file costs 16 MiB, not all memory.
std::string read_file(const std::string& path) {
  auto fail = [&path] { return SystemError("cannot read config file " + path + ": " + std::strerror(errno)); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail();
  std::string content;
  char buf[65536];
  ssize_t n = 0;
  while (content.size() <= kMaxRequestBytes &&
         (n = ::read(fd, buf, std::min(sizeof(buf), kMaxRequestBytes + 1 - content.size()))) > 0)
    content.append(buf, static_cast<size_t>(n));
  if (content.size() > kMaxRequestBytes) {
    ::close(fd);
    throw InputError("config file " + path + " is larger than 16 MiB, the most lbd takes in one request");
  }
  if (n < 0) {
    SystemError error = fail();  // before close() can change errno
    ::close(fd);
    throw error;
  }
  ::close(fd);
  return content;
}

// A file that is not a JSON object is bad input (exit 2), found before lbd is
// asked. Whether its keys and values make a valid config is lbd's to judge.
Json parse_config(const std::string& path, const std::string& content) {
  Json config;
  try {
    config = Json::parse(content);
  } catch (const nlohmann::json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 2, ...": keep the part after the tag.
    std::string what = e.what();
    throw InputError("config file " + path + " is not valid JSON: " + what.substr(what.find("] ") + 2));
  }
  if (!config.is_object()) throw InputError("config file " + path + " must hold a JSON object (see docs/api.md)");
  return config;
}

void add_apply(CLI::App& app, Context& ctx) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("apply", "apply a config file: VIPs and backends not in it are removed");
  cmd->add_option("-f,--file", *path, "the config, as in docs/api.md")->required();
  cmd->callback([&ctx, path] {
    std::string content = read_file(*path);
    if (json_deeper_than(content, kMaxJsonDepth))  // before the parser descends into it
      throw InputError("config file " + *path + " nests arrays and objects deeper than " +
                       std::to_string(kMaxJsonDepth) + " levels, the most lbd takes");
    Json request{{"cmd", "apply"}, {"config", parse_config(*path, content)}};
    if (request.dump().size() > kMaxRequestBytes)
      throw InputError("config file " + *path + " makes a request larger than 16 MiB, the most lbd takes");
    render_apply(change_lbd(ctx, request), ctx.out);
  });
}

void add_detach(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("detach", "detach the program, remove the pins, stop lbd");
  cmd->callback([&ctx] {
    call_lbd(ctx.socket_path, Json{{"cmd", "detach"}}, ctx.timeout);
    ctx.out << "xlb detached; lbd is exiting\n";
  });
}

}  // namespace

void add_config_commands(CLI::App& app, Context& ctx) {
  add_apply(app, ctx);
  add_detach(app, ctx);
}

}  // namespace xlb::lbctl
