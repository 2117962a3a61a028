#include "transfer/export.h"

#include <fcntl.h>

#include <optional>

#include "transfer/export_node.h"
#include "transfer/in_root.h"

namespace runvm::transfer {

using detail::Node;

// The walk of one add(): TarExporter's state plus that call's options.
//
// An entry that cannot be read is skipped with keep_going, as long as
// nothing of it was written; once its header is out the archive cannot go
// on without its data, so a later error (or a broken sink) is fatal.
struct ExportWalk {
  TarExporter& exporter;
  const ExportOptions& options;
  bool fatal = false;

  Status fatal_error(Error error) {
    fatal = true;
    return error;
  }

  // A second name of an inode already archived becomes a hardlink entry.
  void link_or_remember(const Node& node, archive_entry* e, const std::string& name) {
    if (S_ISDIR(node.st.st_mode) || node.st.st_nlink < 2) return;
    auto [it, inserted] = exporter.links_.try_emplace({node.st.st_dev, node.st.st_ino}, name);
    if (inserted) return;
    archive_entry_set_hardlink(e, it->second.c_str());
    archive_entry_set_size(e, 0);
  }

  Status write_entry(const Node& node, const std::string& name) {
    EntryPtr e = TRY_CTX(detail::make_entry(node, name, options.xattrs), name);
    link_or_remember(node, e.get(), name);
    bool has_data = S_ISREG(node.st.st_mode) && archive_entry_hardlink(e.get()) == nullptr;
    std::vector<std::pair<off_t, off_t>> regions;
    if (has_data) regions = detail::sparse_regions(node);
    for (auto [offset, length] : regions) archive_entry_sparse_add_entry(e.get(), offset, length);
    if (Status s = exporter.writer_.write_header(e.get()); !s)
      return fatal_error(std::move(s).error().context(name));
    if (options.on_entry) options.on_entry(name);
    if (has_data) {
      auto bytes = detail::write_file_data(exporter.writer_, node, regions, options, name);
      if (!bytes) return fatal_error(std::move(bytes).error().context(name));
      exporter.summary_.bytes += *bytes;
    }
    ++exporter.summary_.entries;
    return ok();
  }

  // Records a failed entry below the top; the error that ends the export,
  // if it must end.
  std::optional<Error> failed(Error error) {
    if (fatal || !options.keep_going) return error;
    ++exporter.summary_.errors;
    if (options.on_error) options.on_error(error);
    if (!exporter.summary_.first_error) exporter.summary_.first_error = std::move(error);
    return std::nullopt;
  }

  // Writes node (unless `self` is false) and, for a directory, what is in it.
  Status walk(const Node& node, const std::string& name, bool self) {
    if (S_ISSOCK(node.st.st_mode)) {
      if (options.on_warning) options.on_warning(name + ": socket ignored");
      return ok();
    }
    if (self) TRY(write_entry(node, name));
    if (!S_ISDIR(node.st.st_mode)) return ok();
    std::vector<std::string> children = TRY_CTX(detail::list_directory(node.fd.get()), name);
    for (const std::string& child : children) {
      std::string child_name = name.empty() ? child : name + "/" + child;
      Result<Node> loaded = detail::load_at(node.fd.get(), child);
      Status s;
      if (loaded) {
        s = walk(*loaded, child_name, true);
      } else if (loaded.error().errno_value() == ENOENT) {
        if (options.on_warning) options.on_warning(child_name + ": file removed before we read it");
      } else {
        s = std::move(loaded).error().context(child_name);
      }
      if (!s)
        if (auto error = failed(std::move(s).error())) return *error;
    }
    return ok();
  }
};

TarExporter::TarExporter(TarWriter writer) : writer_(std::move(writer)) {}

Result<TarExporter> TarExporter::open(ByteSink& out) {
  return TarExporter(TRY(TarWriter::open(out)));
}

Status TarExporter::add(int root_fd, const std::string& path, const ExportOptions& options) {
  std::vector<std::string> parts = clean_components(path);
  std::string top = options.name.empty() ? (parts.empty() ? "." : parts.back()) : options.name;
  Node node;
  if (parts.empty() || options.follow_link) {
    node = TRY(detail::load_in_root(root_fd, join_components(parts, parts.size())));
  } else {
    UniqueFd parent = TRY(open_in_root(root_fd, join_components(parts, parts.size() - 1),
                                       O_PATH | O_DIRECTORY));
    node = TRY_CTX(detail::load_at(parent.get(), parts.back()), join_components(parts, parts.size()));
  }
  bool contents = options.contents_only && S_ISDIR(node.st.st_mode);
  ExportWalk walk{*this, options};
  return walk.walk(node, contents ? "" : top, !contents);
}

Result<TransferSummary> TarExporter::finish() {
  TRY(writer_.finish());
  return std::move(summary_);
}

Result<TransferSummary> export_tar(int root_fd, const std::string& path, ByteSink& out,
                                   const ExportOptions& options) {
  TarExporter exporter = TRY(TarExporter::open(out));
  TRY(exporter.add(root_fd, path, options));
  return exporter.finish();
}

}  // namespace runvm::transfer
