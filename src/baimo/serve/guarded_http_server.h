// GuardedHttpServer: cpp-httplib's Server with the protections a server reachable by untrusted
// clients needs and that cpp-httplib 0.11 has no option for. Its connection loop is replaced
// (process_and_close_socket is overridden) and runs the library's own request processing
// (process_request: parsing, routing, handlers, writing) over a GuardedStream.
// Contract:
// - bind(host, port, reuse_port): the socket gets SO_REUSEADDR only -- a second server on a port
//   in use fails ("Address already in use"); cpp-httplib's default SO_REUSEPORT, which lets two
//   servers split one port's connections, only when reuse_port -- and the listen backlog is raised
//   to limits.backlog (cpp-httplib listens with 5). Port 0: any free port. Returns the port or
//   throws baimo::Error naming the address and the system's reason.
// - Each client address (numeric host) has at most limits.max_client_connections connections in
//   service; one more is answered 429 (OpenAI-shaped JSON, Retry-After: 1, Connection: close)
//   without reading its request, and on_refused() is called.
// - Every request is read under GuardedStream's bounds (limits.stream). After a request that broke
//   one, current_failure() tells the error handler why (failure_status: 408 or 431) and the
//   connection closes after the answer.
// - Keep-alive as cpp-httplib (keep_alive_max_count requests, keep-alive timeout between them),
//   but a connection also closes after a request whose body was not read to its declared end (a
//   request refused before routing) or had no declared length (chunked): its bytes are never
//   parsed as a next request.
// - Connections end with a lingering close (FIN first, unread input drained for up to 200 ms), so
//   a client still sending gets its answer rather than a reset.
#pragma once
#include <httplib.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "baimo/serve/guarded_stream.h"

namespace baimo::serve {

struct ConnectionLimits {
  StreamLimits stream;
  int max_client_connections = 128;
  int backlog = 1024;
};

class GuardedHttpServer : public httplib::Server {
 public:
  explicit GuardedHttpServer(ConnectionLimits limits, std::function<void()> on_refused = {});

  int bind(const std::string& host, int port, bool reuse_port);

  // The bound broken by the request this thread is answering (None outside a connection).
  static GuardedStream::Failure current_failure();
  // The HTTP status for a failure: 431 (head too large, too many headers), 408 (timeouts),
  // 503 (stopping); `otherwise` for None.
  static int failure_status(GuardedStream::Failure f, int otherwise);

 private:
  bool process_and_close_socket(int sock) override;
  void refuse(int sock, const std::string& host);

  ConnectionLimits limits_;
  std::function<void()> on_refused_;
  std::mutex mu_;
  std::map<std::string, int> open_per_client_;
};

}  // namespace baimo::serve
