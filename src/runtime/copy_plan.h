// runvm cp's command-line operands and docker cp's path semantics, as pure
// functions: given what the source and the destination are, where the
// archive is unpacked and what its top entry is called. docker cp's rules
// (docs.docker.com, "docker container cp"):
//
//   SRC is a file:       DEST missing       -> a file created at DEST
//                        DEST missing, ends with '/' -> error (the directory must exist)
//                        DEST a file        -> overwritten with SRC's contents
//                        DEST a directory   -> DEST/basename(SRC)
//   SRC is a directory:  DEST missing       -> DEST created, SRC's contents copied into it
//                        DEST a file        -> error
//                        DEST a directory   -> DEST/basename(SRC), or with SRC ending
//                                              in "/." its contents into DEST
//
// A missing DEST's parent must exist (it is never created). "-" as SRC is
// a tar stream unpacked into DEST, a directory; "-" as DEST gets SRC as a
// tar stream.
#pragma once

#include <string>

#include "common/result.h"

namespace runvm::runtime {

// One operand: "ID:PATH" in a container, a host path, or "-". As docker
// cp: an absolute path, or one whose part before ':' starts with '.', is a
// host path ("./a:b"); otherwise the part before the first ':' is the
// container.
struct CopyOperand {
  std::string container;  // empty: the host
  std::string path;
  bool is_stream() const { return container.empty() && path == "-"; }
};
CopyOperand parse_operand(const std::string& arg);

// What a path is, as far as the rules care: anything that is not a
// directory (a regular file, a symlink not followed, a FIFO) is a file.
enum class PathKind { kMissing, kFile, kDirectory };

struct CopyEnds {
  std::string src;   // as given: a trailing "/" or "/." means something
  PathKind src_kind = PathKind::kMissing;
  std::string dest;  // as given
  // Where dest leads when it is a symlink (followed as docker cp does);
  // empty: dest itself.
  std::string dest_path;
  PathKind dest_kind = PathKind::kMissing;
  PathKind dest_parent_kind = PathKind::kDirectory;  // looked at when dest is missing
  std::string src_label, dest_label;                 // "c1:/etc/hosts", for messages
};

struct CopyPlan {
  std::string source;         // what to pack, cleaned ("/a/b")
  bool contents_only = false;  // only what is in it (SRC/.)
  std::string name;           // the archive's top entry; empty: basename(source)
  std::string extract_dir;    // where the archive is unpacked
};

// A trailing "/." or "." as the last component: copy a directory's contents.
bool wants_contents(const std::string& path);
// A trailing '/' (or "/."): the path must be a directory.
bool wants_directory(const std::string& path);

// "/"-rooted, cleaned lexically ("a/../b/" -> "/b").
std::string clean_path(const std::string& path);
std::string parent_of(const std::string& path);    // of a cleaned path; "/" for "/"
std::string basename_of(const std::string& path);  // of a cleaned path; "" for "/"
// Where a symlink at link_path with `target` leads (lexically).
std::string link_destination(const std::string& link_path, const std::string& target);

Result<CopyPlan> plan_copy(const CopyEnds& ends);
// SRC "-": the stream is unpacked into dest, which must be a directory.
Result<CopyPlan> plan_stream_in(const CopyEnds& ends);
// DEST "-": src packed under its own name (its contents for "/.").
Result<CopyPlan> plan_stream_out(const CopyEnds& ends);

}  // namespace runvm::runtime
