// Small, errno-checked file helpers shared by host and guest.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::io {

// open(2) with O_CLOEXEC always added.
Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0);

// Writes all of data, retrying on EINTR and short writes (blocking fds).
Status write_all(int fd, std::string_view data);

Result<std::string> read_file(const std::string& path);
// The same, `path` relative to the directory `dir` (or AT_FDCWD).
Result<std::string> read_file_at(int dir, const std::string& path);

// Writes path atomically: a temporary file in the same directory, fsync'd
// and renamed over path.
Status write_file_atomic(const std::string& path, std::string_view data,
                         mode_t mode = 0644);
// The same, with `path` relative to the directory fd `dir` (AT_FDCWD: cwd).
Status write_file_atomic_at(int dir, const std::string& path, std::string_view data,
                            mode_t mode = 0644);

// Makes fd non-blocking (only for descriptors runvm itself owns).
Status set_nonblocking(int fd);

// Creates a pipe, both ends O_CLOEXEC.
Result<std::pair<UniqueFd, UniqueFd>> make_pipe();

// Sends one descriptor over a Unix socket (SCM_RIGHTS) with `data` as the
// message's bytes (at least one byte must travel with it).
Status send_fd(int socket, int fd, std::string_view data);
// Receives one descriptor that send_fd sent, if one is waiting (never blocks).
Result<UniqueFd> receive_fd(int socket);
// Reads fd (blocking) until EOF or an error; what was read.
std::string read_to_end(int fd);
// Removes path and everything under it, never following symlinks.
Status remove_tree(const std::string& path);

}  // namespace runvm::io
