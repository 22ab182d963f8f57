// GuardedStream: cpp-httplib's Stream over one accepted TCP socket, with the bounds that cpp-httplib
// 0.11's own SocketStream lacks: it bounds only each single read (5 s), so a client that sends a
// header line every second holds an HTTP thread forever, and it takes any number of header lines.
// Contract:
// - begin_request() starts a request. Its head (request line and headers, up to the blank line)
//   must arrive within limits.head_timeout of that call and hold at most limits.max_head_bytes
//   bytes and limits.max_header_lines header lines; the body must then arrive within
//   limits.body_timeout. No single read waits longer than limits.idle_timeout either.
// - A read past a bound returns -1 and failure() says which bound (cpp-httplib then answers 400 and
//   the server closes the connection); EOF reads 0. Reads also fail (Stopping) within 100 ms of
//   `stopping()` turning true, so a server shutdown never waits for a slow client.
// - head_complete(): the blank line ending the current request's head was read; body_bytes(): the
//   bytes handed out after it.
// - wait_for_request(timeout): true when the next request's first byte (or EOF) is there, false
//   after `timeout` or when stopping.
// - Writes wait at most write_timeout for room and fail once the peer has closed (as cpp-httplib's).
// - get_remote_ip_and_port: the numeric host (getnameinfo NI_NUMERICHOST, as cpp-httplib writes it).
// The socket stays owned by the caller.
#pragma once
#include <httplib.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>

namespace baimo::serve {

struct StreamLimits {
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  size_t max_head_bytes = 64 * 1024;
  size_t max_header_lines = 100;
};

class GuardedStream final : public httplib::Stream {
 public:
  enum class Failure { None, HeadTimeout, HeadTooLarge, TooManyHeaders, BodyTimeout, IdleTimeout, Stopping };
  using Clock = std::chrono::steady_clock;

  GuardedStream(int fd, const StreamLimits& limits, std::function<bool()> stopping);

  void begin_request();
  bool wait_for_request(std::chrono::milliseconds timeout);
  Failure failure() const { return failure_; }
  bool head_complete() const { return !in_head_; }
  uint64_t body_bytes() const { return body_bytes_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

 private:
  bool fill();  // reads more bytes into buf_; false (failure_ or EOF/error in last_recv_) when none

  int fd_;
  StreamLimits limits_;
  std::function<bool()> stopping_;
  std::array<char, 4096> buf_{};
  size_t buf_pos_ = 0, buf_len_ = 0;
  ssize_t last_recv_ = 0;
  bool in_head_ = true;
  size_t head_bytes_ = 0, head_lines_ = 0;
  uint32_t last4_ = 0;  // the last four head bytes, to find "\r\n\r\n"
  uint64_t body_bytes_ = 0;
  Clock::time_point deadline_;
  Failure failure_ = Failure::None;
};

}  // namespace baimo::serve
