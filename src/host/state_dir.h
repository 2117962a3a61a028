// StateDir: a container's directory under --root (state.json, sockets, the
// console log). Created exclusively, so one ID is one container, and held
// under an flock so concurrent commands on one ID are serialised. Removed by
// the destructor unless keep() was called: a failed command leaves nothing.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::host {

// Container IDs as runc accepts them: [A-Za-z0-9_+\-.], 1 to 1024 bytes,
// not "." or "..".
Status validate_container_id(const std::string& id);

class StateDir {
 public:
  StateDir() = default;
  StateDir(StateDir&& other) noexcept;
  StateDir& operator=(StateDir&&) = delete;
  ~StateDir();

  // Creates root/id (and root if needed, mode 0700), locked. An existing
  // directory gets runc's error: "container with given ID already exists".
  static Result<StateDir> create(const std::string& root, const std::string& id);
  // Opens and locks an existing container's directory, kept by default
  // (remove() deletes it). A missing one: "container does not exist".
  static Result<StateDir> open(const std::string& root, const std::string& id);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }
  // Lets other commands in (the lock is released; the directory stays ours).
  void unlock() { lock_.reset(); }
  Status remove();

 private:
  std::string path_;
  UniqueFd lock_;
  bool keep_ = false;
};

}  // namespace runvm::host
