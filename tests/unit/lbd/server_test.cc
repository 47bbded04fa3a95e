// lbd's control socket (ctl/lbd/server.h) over a real Unix socket in a
// temporary directory: one answer per connection, the framing, the 16 MiB
// cap, a silent client that must not stall the others, stop(), and what
// happens to stale or foreign files at the socket's path.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "core/error.h"
#include "lbd/server.h"

namespace xlb {
namespace {

// A temporary directory, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/xlb-server-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// A Server running in a thread of its own; the handler answers "got:" and
// the request, or stops the server on "stop".
class RunningServer {
 public:
  explicit RunningServer(const std::string& path) : server_(path) {
    thread_ = std::thread([this] {
      server_.run(
          [this](const std::string& req) {
            calls_++;
            if (req == "stop") {
              server_.stop();
              return std::string("bye");
            }
            return "got:" + req;
          },
          [] {}, 10, [this] { return quit_.load(); });
      returned_ = true;
    });
  }
  ~RunningServer() {
    quit_ = true;
    thread_.join();
  }
  int calls() const { return calls_; }
  bool returned() const { return returned_; }

 private:
  Server server_;
  std::atomic<int> calls_{0};
  std::atomic<bool> quit_{false};
  std::atomic<bool> returned_{false};
  std::thread thread_;
};

int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  for (size_t sent = 0; sent < data.size();) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Everything the server sends until it closes the connection.
std::string read_to_eof(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

// One request on a connection of its own; what the server answered.
std::string ask(const std::string& path, const std::string& data, bool close_write = false) {
  int fd = connect_to(path);
  if (fd < 0) return "<connect failed>";
  send_all(fd, data);
  if (close_write) shutdown(fd, SHUT_WR);
  std::string answer = read_to_eof(fd);
  close(fd);
  return answer;
}

class ServerTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path = dir.path + "/run/lbd.sock";  // the parent is created by the server
};

TEST_F(ServerTest, AnswersOneRequestPerConnectionThenCloses) {
  RunningServer s(path);
  EXPECT_EQ(ask(path, "hello\n"), "got:hello\n");
  // Only the first line is a request: the rest of the input is ignored.
  EXPECT_EQ(ask(path, "one\ntwo\n"), "got:one\n");
  EXPECT_EQ(s.calls(), 2);
}

TEST_F(ServerTest, ARequestWithoutNewlineIsTakenAtEndOfInput) {
  RunningServer s(path);
  EXPECT_EQ(ask(path, "abc", true), "got:abc\n");
  // An empty connection is not a request.
  EXPECT_EQ(ask(path, "", true), "");
  EXPECT_EQ(s.calls(), 1);
}

TEST_F(ServerTest, TheSocketIsForRootOnly) {
  RunningServer s(path);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ServerTest, ARequestOverTheCapGetsAnErrorAndNeverReachesTheHandler) {
  RunningServer s(path);
  const std::string refusal = "{\"ok\":false,\"error\":\"request larger than 16 MiB\"}\n";
  // One byte over, ending with its newline (the server reads in 64 KiB
  // pieces, so the line ends in the read that crosses the cap), and far
  // over. An answer is compared by value but shown only by its length.
  for (size_t len : {kMaxRequestBytes + 1, kMaxRequestBytes + 100000}) {
    std::string big(len, 'x');
    big += '\n';
    std::string answer = ask(path, big);
    EXPECT_TRUE(answer == refusal) << "a " << len << "-byte request got an answer of " << answer.size()
                                   << " bytes: " << answer.substr(0, 60);
  }
  EXPECT_EQ(s.calls(), 0);
  // The server goes on serving.
  EXPECT_EQ(ask(path, "after\n"), "got:after\n");
}

TEST_F(ServerTest, ASilentClientDoesNotStallTheOthers) {
  RunningServer s(path);
  int silent = connect_to(path);
  ASSERT_GE(silent, 0);
  // Served while the silent client is still connected. Had the server
  // waited on the silent one, it would have answered only after dropping
  // it at its deadline, so the silent connection would be closed by now.
  EXPECT_EQ(ask(path, "busy\n"), "got:busy\n");
  pollfd p{silent, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "the silent client was dropped before the other was served";
  close(silent);
  EXPECT_EQ(s.calls(), 1);
}

TEST_F(ServerTest, StopAnswersThePendingRequestThenRemovesTheSocket) {
  auto s = std::make_unique<RunningServer>(path);
  EXPECT_EQ(ask(path, "stop\n"), "bye\n");
  for (int i = 0; i < 500 && !s->returned(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(s->returned());
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "socket file left behind";
  EXPECT_EQ(connect_to(path), -1);
}

TEST_F(ServerTest, AStaleSocketFileIsReplaced) {
  {
    // What an lbd killed with -9 leaves: a socket file nobody listens on.
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, (dir.path + "/stale.sock").c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    close(fd);
  }
  std::string stale = dir.path + "/stale.sock";
  ASSERT_EQ(access(stale.c_str(), F_OK), 0);
  RunningServer s(stale);
  EXPECT_EQ(ask(stale, "hi\n"), "got:hi\n");
}

TEST_F(ServerTest, ASecondServerOnALiveSocketIsRefused) {
  RunningServer s(path);
  try {
    Server second(path);
    FAIL() << "a second server took over a live socket";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("another lbd is listening"), std::string::npos) << e.what();
  }
  // The first one still answers.
  EXPECT_EQ(ask(path, "still\n"), "got:still\n");
}

TEST_F(ServerTest, AFileThatIsNotASocketIsLeftAlone) {
  std::string file = dir.path + "/not-a-socket";
  std::ofstream(file) << "precious";
  EXPECT_THROW(Server{file}, SystemError);
  std::ifstream in(file);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

}  // namespace
}  // namespace xlb
