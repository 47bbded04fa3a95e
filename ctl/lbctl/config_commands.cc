#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "core/atomic_file.h"
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
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("apply", "apply a config file: VIPs and backends not in it are removed");
  cmd->add_option("-f,--file", *path, "the config, as in docs/api.md")->required();
  cmd->add_flag("--dry-run", *dry_run,
                "print what applying it would change (VIPs and backends added, removed and changed, with the "
                "connections they hold) and change nothing");
  cmd->callback([&ctx, path, dry_run] {
    std::string content = read_file(*path);
    if (json_deeper_than(content, kMaxJsonDepth))  // before the parser descends into it
      throw InputError("config file " + *path + " nests arrays and objects deeper than " +
                       std::to_string(kMaxJsonDepth) + " levels, the most lbd takes");
    Json request{{"cmd", "apply"}, {"config", parse_config(*path, content)}};
    if (*dry_run) request["dry_run"] = true;
    if (request.dump().size() > kMaxRequestBytes)
      throw InputError("config file " + *path + " makes a request larger than 16 MiB, the most lbd takes");
    if (*dry_run)
      render_dry_run(call_lbd(ctx.socket_path, request, ctx.timeout), ctx.out);
    else
      render_apply(change_lbd(ctx, request), ctx.out);
  });
}

// The running config, in the config file's form: what `apply` of it would
// keep as is (docs/lbctl.md, "save").
void add_save(CLI::App& app, Context& ctx) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("save", "print the running config in the config file's format (or write it)");
  cmd->add_option("-o,--output", *path, "write it to this file (replaced atomically) instead of stdout");
  cmd->callback([&ctx, path] {
    Json answer = call_lbd(ctx.socket_path, Json{{"cmd", "config"}}, ctx.timeout);
    std::string text = answer.at("config").dump(2) + "\n";
    if (path->empty()) {
      ctx.out << text;
      return;
    }
    write_file_atomically(*path, text);
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
  add_save(app, ctx);
  add_detach(app, ctx);
}

}  // namespace xlb::lbctl
