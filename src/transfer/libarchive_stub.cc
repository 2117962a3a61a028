// Our own copy of one libarchive-internal function, for the static agent.
//
// libarchive's tar writers call __archive_write_entry_filetype_unsupported(),
// which lives in archive_write_set_format.o next to the table of every
// writer format. Linking that object from libarchive.a pulls in all the
// formats and, through them, libxml2, ICU and more (35 MB). Defining the
// function here (linked first: CMake passes -Wl,--undefined for it) keeps
// the agent at the tar reader and pax writer it uses. The behaviour matches
// libarchive's: it only records an error message.
#include <archive.h>
#include <archive_entry.h>

#include <cerrno>

extern "C" void __archive_write_entry_filetype_unsupported(struct archive* a,
                                                            struct archive_entry* entry,
                                                            const char* format) {
  const char* name = archive_entry_pathname(entry);
  archive_set_error(a, EINVAL, "%s: %s format cannot archive this", name ? name : "", format);
}
