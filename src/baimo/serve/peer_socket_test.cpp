// find_peer_socket / peer_closed on real loopback TCP connections: the accepted socket is found
// from (client address, client port, server port), stays "open" while the client is connected
// (also with unread bytes waiting), and reads as closed after the client closes, shuts down its
// sending side, or resets the connection.
#include "baimo/serve/peer_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace baimo::serve {
namespace peer_socket_test {

int port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  return ntohs(a.sin_port);
}

// A loopback listener, one connected client and the accepted server-side socket.
struct Connection {
  int listener = -1, client = -1, server = -1;
  Connection() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(listener, 4), 0);
    a.sin_port = htons(static_cast<uint16_t>(port_of(listener)));
    client = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    server = accept(listener, nullptr, nullptr);
    EXPECT_GE(server, 0);
  }
  ~Connection() {
    for (int fd : {listener, client, server})
      if (fd >= 0) close(fd);
  }
};

// peer_closed may need the FIN / RST to arrive: wait up to a second.
bool becomes_closed(int fd) {
  for (int i = 0; i < 100; ++i) {
    if (peer_closed(fd)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(PeerSocket, FindsTheAcceptedSocketOfAConnection) {
  Connection c, other;
  EXPECT_EQ(find_peer_socket("127.0.0.1", port_of(c.client), port_of(c.listener)), c.server);
  EXPECT_EQ(find_peer_socket("127.0.0.1", port_of(other.client), port_of(other.listener)), other.server);
  // The ports the other way round name the client's own socket (in a server, no such socket).
  EXPECT_EQ(find_peer_socket("127.0.0.1", port_of(c.listener), port_of(c.client)), c.client);
  EXPECT_EQ(find_peer_socket("127.0.0.2", port_of(c.client), port_of(c.listener)), -1);
  EXPECT_EQ(find_peer_socket("127.0.0.1", port_of(c.client), port_of(other.listener)), -1);
  EXPECT_EQ(find_peer_socket("127.0.0.1", -1, port_of(c.listener)), -1);
}

TEST(PeerSocket, OpenWhileConnectedEvenWithBytesWaiting) {
  Connection c;
  EXPECT_FALSE(peer_closed(c.server));
  ASSERT_EQ(write(c.client, "GET", 3), 3);  // a pipelined request: peeked, not consumed
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(peer_closed(c.server));
  EXPECT_FALSE(peer_closed(c.server));
  char buf[4];
  EXPECT_EQ(read(c.server, buf, sizeof buf), 3);
}

TEST(PeerSocket, ClosedAfterCloseShutdownOrReset) {
  {
    Connection c;
    close(c.client);
    c.client = -1;
    EXPECT_TRUE(becomes_closed(c.server));
  }
  {
    Connection c;
    ASSERT_EQ(write(c.client, "x", 1), 1);  // unread bytes before the FIN
    shutdown(c.client, SHUT_WR);
    EXPECT_TRUE(becomes_closed(c.server));
  }
  {
    Connection c;
    linger l{1, 0};  // close with RST
    setsockopt(c.client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(c.client);
    c.client = -1;
    EXPECT_TRUE(becomes_closed(c.server));
  }
  EXPECT_TRUE(peer_closed(-1));
}

}  // namespace peer_socket_test

}  // namespace baimo::serve
