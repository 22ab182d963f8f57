#include "baimo/serve/guarded_stream.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace baimo::serve {
namespace {

int poll_one(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r;
}

int millis_until(GuardedStream::Clock::time_point t, int cap) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - GuardedStream::Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, cap));
}

void numeric_address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (rc != 0) return;
  if (a.ss_family == AF_INET) port = ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  else if (a.ss_family == AF_INET6) port = ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  else return;
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0)
    ip = host;
}

}  // namespace

GuardedStream::GuardedStream(int fd, const StreamLimits& limits, std::function<bool()> stopping)
    : fd_(fd), limits_(limits), stopping_(std::move(stopping)) {
  begin_request();
}

void GuardedStream::begin_request() {
  in_head_ = true;
  head_bytes_ = head_lines_ = 0;
  last4_ = 0;
  body_bytes_ = 0;
  deadline_ = Clock::now() + limits_.head_timeout;
}

bool GuardedStream::wait_for_request(std::chrono::milliseconds timeout) {
  if (buf_pos_ < buf_len_) return true;
  const auto until = Clock::now() + timeout;
  while (!stopping_()) {
    int r = poll_one(fd_, POLLIN, millis_until(until, 100));
    if (r != 0) return r > 0;
    if (Clock::now() >= until) return false;
  }
  return false;
}

bool GuardedStream::fill() {
  const auto idle_until = Clock::now() + limits_.idle_timeout;
  for (;;) {
    if (stopping_()) return failure_ = Failure::Stopping, false;
    const auto now = Clock::now();
    if (now >= deadline_) return failure_ = in_head_ ? Failure::HeadTimeout : Failure::BodyTimeout, false;
    if (now >= idle_until) return failure_ = Failure::IdleTimeout, false;
    int r = poll_one(fd_, POLLIN, millis_until(std::min(deadline_, idle_until), 100));
    if (r < 0) return last_recv_ = -1, false;
    if (r > 0) break;
  }
  ssize_t n;
  do n = ::recv(fd_, buf_.data(), buf_.size(), 0);
  while (n < 0 && errno == EINTR);
  last_recv_ = n;
  if (n <= 0) return false;
  buf_pos_ = 0;
  buf_len_ = static_cast<size_t>(n);
  return true;
}

ssize_t GuardedStream::read(char* ptr, size_t size) {
  if (size == 0) return 0;
  if (failure_ != Failure::None) return -1;
  if (buf_pos_ == buf_len_ && !fill()) return failure_ != Failure::None ? -1 : last_recv_;
  size_t take = std::min(size, buf_len_ - buf_pos_);
  if (in_head_) {
    size_t i = 0;
    while (i < take) {
      const char c = buf_[buf_pos_ + i++];
      ++head_bytes_;
      last4_ = (last4_ << 8) | static_cast<unsigned char>(c);
      if (last4_ == 0x0d0a0d0a) {  // the blank line: the body's time starts
        in_head_ = false;
        deadline_ = Clock::now() + limits_.body_timeout;
        break;
      }
      if (c == '\n') ++head_lines_;
      if (head_bytes_ > limits_.max_head_bytes) return failure_ = Failure::HeadTooLarge, -1;
      if (head_lines_ > limits_.max_header_lines + 1) return failure_ = Failure::TooManyHeaders, -1;  // + request line
    }
    take = i;
  } else {
    body_bytes_ += take;
  }
  std::memcpy(ptr, buf_.data() + buf_pos_, take);
  buf_pos_ += take;
  return static_cast<ssize_t>(take);
}

bool GuardedStream::is_readable() const { return buf_pos_ < buf_len_ || poll_one(fd_, POLLIN, 0) > 0; }

bool GuardedStream::is_writable() const {
  if (poll_one(fd_, POLLOUT, static_cast<int>(limits_.write_timeout.count())) <= 0) return false;
  if (poll_one(fd_, POLLIN, 0) == 0) return true;  // nothing to read: the peer is still there
  char c;
  return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;  // 0: the peer closed
}

ssize_t GuardedStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t n;
  do n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

void GuardedStream::get_remote_ip_and_port(std::string& ip, int& port) const { numeric_address(fd_, true, ip, port); }
void GuardedStream::get_local_ip_and_port(std::string& ip, int& port) const { numeric_address(fd_, false, ip, port); }

}  // namespace baimo::serve
