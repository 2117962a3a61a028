// libFuzzer target: arbitrary bytes as a tar stream into a fresh root.
// Besides crashes and sanitizer reports, it aborts if anything outside the
// root changed (a sentinel directory beside it), the property import_tar
// exists to keep. Run with scripts/fuzz_import.sh.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/io.h"
#include "transfer/import.h"

namespace {

using runvm::transfer::ImportOptions;

class BytesSource : public runvm::transfer::ByteSource {
 public:
  BytesSource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  runvm::Result<size_t> read(char* buf, size_t size) override {
    // Small, uneven reads exercise libarchive's buffering.
    size_t n = std::min({size, size_ - pos_, size_t{777}});
    std::copy(data_ + pos_, data_ + pos_ + n, buf);
    pos_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Sandbox {
  std::string base, root, sentinel;
  struct stat before;
  Sandbox() {
    char tmpl[] = "/tmp/runvm-import-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    base = tmpl;
    root = base + "/root";
    sentinel = base + "/outside";
    ::mkdir(sentinel.c_str(), 0755);
    ::stat(sentinel.c_str(), &before);
  }
  ~Sandbox() { (void)runvm::io::remove_tree(base); }
  bool sentinel_intact() const {
    struct stat now;
    return ::stat(sentinel.c_str(), &now) == 0 && now.st_ino == before.st_ino &&
           now.st_nlink == before.st_nlink && now.st_mtim.tv_sec == before.st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == before.st_mtim.tv_nsec;
  }
};

Sandbox* the_box = nullptr;

// libFuzzer ends with exit(): the sandbox goes then, not at static
// destruction, whose order with libFuzzer's own is not ours to choose.
Sandbox& sandbox() {
  if (the_box == nullptr) {
    the_box = new Sandbox();
    std::atexit([] { delete the_box; });
  }
  return *the_box;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Sandbox& box = sandbox();
  if (::mkdir(box.root.c_str(), 0755) < 0) std::abort();
  int root = ::open(box.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) std::abort();
  BytesSource source(data, size);
  ImportOptions options;
  options.keep_going = true;
  (void)runvm::transfer::import_tar(root, "/", source, options);
  ::close(root);
  if (!box.sentinel_intact()) {
    std::fprintf(stderr, "import_fuzz: the sentinel outside the root changed\n");
    std::abort();
  }
  if (!runvm::io::remove_tree(box.root)) std::abort();
  return 0;
}
