#include "common/result.h"

#include <cstring>

namespace runvm {

std::string Error::describe() const {
  if (errno_ == 0) return message_;
  return message_ + ": " + std::strerror(errno_);
}

}  // namespace runvm
