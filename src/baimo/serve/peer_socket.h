// The server-side socket of an HTTP connection, for a handler that waits (a non-streaming
// completion) and must notice that its client went away. cpp-httplib 0.11 hands handlers no socket
// and has no is_connection_closed(); its Request does carry remote_addr, remote_port and
// local_port, which name the connection.
// Contract (Linux):
// - find_peer_socket(remote_addr, remote_port, local_port): the fd of this process's connected
//   socket whose peer is remote_addr:remote_port (numeric host, as getnameinfo(NI_NUMERICHOST)
//   writes it, which is what cpp-httplib stores) and whose own port is local_port; -1 when there
//   is none or /proc/self/fd cannot be read. A live TCP connection is named by its 4-tuple, so the
//   match is unique. The fd stays owned by the HTTP library: it is never read, written or closed
//   here, and is valid only while that library's handler for the request runs.
// - peer_closed(fd): true once the peer has closed, shut down its sending side or reset the
//   connection (poll: POLLHUP / POLLERR / POLLRDHUP, or readable with a MSG_PEEK read of 0 bytes
//   or an error); false while it is open, including when it has sent more bytes (a pipelined
//   request: peeked, not consumed). fd < 0 reads as closed. Never blocks.
#pragma once
#include <string>

namespace baimo::serve {

int find_peer_socket(const std::string& remote_addr, int remote_port, int local_port);
bool peer_closed(int fd);

}  // namespace baimo::serve
