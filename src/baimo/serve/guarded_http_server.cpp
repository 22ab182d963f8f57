#include "baimo/serve/guarded_http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "baimo/serve/api_error.h"
#include "baimo/util/error.h"

namespace baimo::serve {
namespace {
using Clock = std::chrono::steady_clock;

thread_local const GuardedStream* tl_stream = nullptr;

// FIN first, then read and drop what the client still sends for up to 200 ms (or 256 KiB), then close.
void lingering_close(int sock) {
  ::shutdown(sock, SHUT_WR);
  const auto until = Clock::now() + std::chrono::milliseconds(200);
  char buf[4096];
  size_t drained = 0;
  while (drained < (256u << 10)) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (ms <= 0) break;
    pollfd p{sock, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(ms));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::recv(sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  ::close(sock);
}

// The body length a request declares: 0 without one, nullopt when unknown (chunked, unreadable).
std::optional<uint64_t> declared_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return std::nullopt;
  const size_t n = req.get_header_value_count("Content-Length");
  if (n == 0) return 0;
  if (n > 1) return std::nullopt;
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18) return std::nullopt;
  return std::stoull(v);
}

std::string peer_host(int sock) {
  std::string ip;
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  char host[NI_MAXHOST];
  if (getpeername(sock, reinterpret_cast<sockaddr*>(&a), &len) == 0 &&
      getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0)
    ip = host;
  return ip;
}

}  // namespace

GuardedHttpServer::GuardedHttpServer(ConnectionLimits limits, std::function<void()> on_refused)
    : limits_(limits), on_refused_(std::move(on_refused)) {
  if (limits_.max_client_connections < 1) limits_.max_client_connections = 1;
}

int GuardedHttpServer::bind(const std::string& host, int port, bool reuse_port) {
  set_socket_options([reuse_port](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // restarts despite TIME_WAIT
    if (reuse_port) setsockopt(sock, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes);
  });
  errno = 0;
  int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    const int err = errno;
    fail("cannot listen on {}:{}: {}", host, port,
         err ? std::strerror(err) : "not an address of this machine");
  }
  // cpp-httplib 0.11 listens with a backlog of 5; listen() again on the bound socket raises it.
  ::listen(svr_sock_, limits_.backlog);
  return bound;
}

GuardedStream::Failure GuardedHttpServer::current_failure() {
  return tl_stream ? tl_stream->failure() : GuardedStream::Failure::None;
}

int GuardedHttpServer::failure_status(GuardedStream::Failure f, int otherwise) {
  switch (f) {
    case GuardedStream::Failure::HeadTooLarge:
    case GuardedStream::Failure::TooManyHeaders: return 431;
    case GuardedStream::Failure::HeadTimeout:
    case GuardedStream::Failure::BodyTimeout:
    case GuardedStream::Failure::IdleTimeout: return 408;
    case GuardedStream::Failure::Stopping: return 503;
    case GuardedStream::Failure::None: break;
  }
  return otherwise;
}

void GuardedHttpServer::refuse(int sock, const std::string& host) {
  const std::string body = error_body(ApiError(
      429, fmt::format("Too many connections from {}: at most {} at a time.", host, limits_.max_client_connections),
      "rate_limit_error", "", "too_many_connections"));
  const std::string answer = fmt::format(
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Retry-After: 1\r\nConnection: close\r\n\r\n{}",
      body.size(), body);
  (void)::send(sock, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (on_refused_) on_refused_();
  lingering_close(sock);
}

bool GuardedHttpServer::process_and_close_socket(int sock) {
  const std::string host = peer_host(sock);
  bool admitted = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int& open = open_per_client_[host];
    if (open < limits_.max_client_connections) ++open, admitted = true;
  }
  if (!admitted) {
    refuse(sock, host);
    return false;
  }

  struct Release {  // on every way out: the client's place, the thread's stream, the socket
    GuardedHttpServer& s;
    const std::string& host;
    int sock;
    ~Release() {
      tl_stream = nullptr;
      lingering_close(sock);
      std::lock_guard<std::mutex> lock(s.mu_);
      if (--s.open_per_client_[host] <= 0) s.open_per_client_.erase(host);
    }
  } release{*this, host, sock};

  GuardedStream strm(sock, limits_.stream, [this] { return svr_sock_ == INVALID_SOCKET; });
  tl_stream = &strm;
  bool ret = false;
  for (size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!strm.wait_for_request(std::chrono::seconds(keep_alive_timeout_sec_))) break;
    strm.begin_request();
    bool connection_closed = false, set_up = false;
    std::optional<uint64_t> body;
    ret = process_request(strm, left == 1, connection_closed, [&](httplib::Request& req) {
      set_up = true;
      body = declared_body(req);
    });
    // Go on only after a request read exactly to its end.
    if (!ret || connection_closed || !set_up || strm.failure() != GuardedStream::Failure::None ||
        !strm.head_complete() || !body || strm.body_bytes() != *body)
      break;
  }
  return ret;
}

}  // namespace baimo::serve
