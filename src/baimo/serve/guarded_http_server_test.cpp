#include "baimo/serve/guarded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "baimo/util/error.h"

namespace baimo::serve {
namespace guarded_http_server_test {
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A GuardedHttpServer on a free loopback port with small limits, serving GET /ok and refusing
// POST /reject before reading its body; stopped and joined at the end of the test.
struct TestServer {
  GuardedHttpServer http;
  int port = 0;
  std::thread thread;

  static ConnectionLimits limits() {
    ConnectionLimits l;
    l.stream.head_timeout = 400ms;
    l.stream.body_timeout = 400ms;
    l.stream.max_header_lines = 10;
    l.stream.max_head_bytes = 2048;
    l.max_client_connections = 2;
    return l;
  }
  TestServer() : http(limits()) {
    http.new_task_queue = [] { return new httplib::ThreadPool(8); };
    http.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.path != "/reject") return httplib::Server::HandlerResponse::Unhandled;
      res.status = 401;
      res.set_content("no", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      res.status = GuardedHttpServer::failure_status(GuardedHttpServer::current_failure(), res.status);
    });
    port = http.bind("127.0.0.1", 0, false);
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(1ms);  // stop() before that would be lost
  }
  ~TestServer() {
    http.stop();
    thread.join();
  }
};

// A blocking loopback client socket from `from` (any 127.x.y.z) to 127.0.0.1:port.
int connect_to(int port, const char* from = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, from, &local.sin_addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void send_all(int fd, const std::string& s) { ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), (ssize_t)s.size()); }

// Everything the server sends until it closes the connection or `limit` passes.
std::string read_until_closed(int fd, std::chrono::milliseconds limit = 3000ms) {
  std::string out;
  const auto until = Clock::now() + limit;
  char buf[4096];
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
  return out + "<still open>";
}

int count_of(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(GuardedHttpServer, APortInUseIsAnErrorUnlessReusePortIsAsked) {
  TestServer first;
  GuardedHttpServer second(TestServer::limits());
  try {
    second.bind("127.0.0.1", first.port, false);
    FAIL() << "a second server bound port " << first.port;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
  // Both asking for SO_REUSEPORT may share a port.
  GuardedHttpServer a(TestServer::limits()), b(TestServer::limits());
  int port = a.bind("127.0.0.1", 0, true);
  EXPECT_EQ(b.bind("127.0.0.1", port, true), port);
}

TEST(GuardedHttpServer, ASlowHeadIsCutAtItsDeadline) {
  TestServer s;
  int fd = connect_to(s.port);
  const auto t0 = Clock::now();
  send_all(fd, "GET /ok HTTP/1.1\r\n");
  std::string got;
  for (int i = 0; i < 30 && got.empty(); ++i) {  // a header line every 50 ms: never a blank line
    send_all(fd, "X-Slow: " + std::to_string(i % 5) + "\r\n");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) got = read_until_closed(fd);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_NE(got.find("HTTP/1.1 408"), std::string::npos) << got;
  EXPECT_LT(seconds, 1.2);
  ::close(fd);
}

TEST(GuardedHttpServer, ASlowBodyIsCutAtItsDeadline) {
  TestServer s;
  s.http.Post("/post", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  int fd = connect_to(s.port);
  const auto t0 = Clock::now();
  send_all(fd, "POST /post HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
  std::string got = read_until_closed(fd);
  EXPECT_NE(got.find("HTTP/1.1 408"), std::string::npos) << got;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.2);
  ::close(fd);
}

TEST(GuardedHttpServer, HeaderCountAndSizeAreCapped) {
  TestServer s;
  std::string many = "GET /ok HTTP/1.1\r\n";
  for (int i = 0; i < 11; ++i) many += "X-H" + std::to_string(i) + ": 1\r\n";
  int fd = connect_to(s.port);
  send_all(fd, many + "\r\n");
  EXPECT_EQ(read_until_closed(fd).rfind("HTTP/1.1 431", 0), 0u);
  ::close(fd);
  fd = connect_to(s.port);
  send_all(fd, "GET /ok HTTP/1.1\r\nX-Big: " + std::string(3000, 'a') + "\r\n\r\n");
  EXPECT_EQ(read_until_closed(fd).rfind("HTTP/1.1 431", 0), 0u);
  ::close(fd);
  // Ten headers are fine. The server frees the two closed connections' places (the cap is 2 per
  // address) on its own threads, so a 429 may come first on a loaded machine: retry for a while.
  std::string ten = "GET /ok HTTP/1.1\r\nConnection: close\r\n";
  for (int i = 0; i < 9; ++i) ten += "X-H" + std::to_string(i) + ": 1\r\n";
  std::string got;
  for (const auto t0 = Clock::now(); Clock::now() - t0 < 5s;) {
    fd = connect_to(s.port);
    send_all(fd, ten + "\r\n");
    got = read_until_closed(fd);
    ::close(fd);
    if (got.rfind("HTTP/1.1 429", 0) != 0) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
}

TEST(GuardedHttpServer, ConnectionsPerClientAddressAreCapped) {
  TestServer s;
  int a = connect_to(s.port), b = connect_to(s.port);  // idle: each holds a place
  std::this_thread::sleep_for(100ms);
  int c = connect_to(s.port);
  const auto t0 = Clock::now();
  std::string refused = read_until_closed(c, 1000ms);
  EXPECT_EQ(refused.rfind("HTTP/1.1 429", 0), 0u) << refused;
  EXPECT_NE(refused.find("too_many_connections"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.35);  // at once, not at a deadline
  ::close(c);
  // Another address is served meanwhile.
  int d = connect_to(s.port, "127.0.0.2");
  send_all(d, "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(read_until_closed(d).rfind("HTTP/1.1 200", 0), 0u);
  ::close(d);
  // Places free again when connections end.
  ::close(a);
  ::close(b);
  std::this_thread::sleep_for(300ms);
  int e = connect_to(s.port);
  send_all(e, "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(read_until_closed(e).rfind("HTTP/1.1 200", 0), 0u);
  ::close(e);
}

TEST(GuardedHttpServer, AnUnreadBodyIsNeverParsedAsTheNextRequest) {
  TestServer s;
  int fd = connect_to(s.port);
  // Refused before routing: its body ("GET /ok ...", a request of its own) must not be answered.
  const std::string smuggled = "GET /ok HTTP/1.1\r\n\r\n";
  send_all(fd, "POST /reject HTTP/1.1\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  std::string got = read_until_closed(fd);
  EXPECT_EQ(count_of(got, "HTTP/1.1 "), 1) << got;
  EXPECT_EQ(got.rfind("HTTP/1.1 401", 0), 0u) << got;
  ::close(fd);
  // A request read to its end keeps the connection for the next one.
  fd = connect_to(s.port);
  send_all(fd, "GET /ok HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count_of(read_until_closed(fd), "HTTP/1.1 200"), 2);
  ::close(fd);
}

}  // namespace guarded_http_server_test

}  // namespace baimo::serve
