// File: opsgate/config/internal/files.h
//
// Small POSIX file helpers for the config module: a bounded read that never blocks on
// a FIFO and never reads past its limit, and a stat summary for "exists, readable,
// private?" checks. Not part of the public API.
#pragma once

#include <sys/types.h>

#include <string>
#include <tl/expected.hpp>

namespace opsgate::config::internal {

enum class FileProblem {
  kNotFound,    // no such file (or a dangling symlink)
  kNotRegular,  // a directory, device, FIFO or socket
  kUnreadable,  // permission denied or another read error
  kTooLarge,    // more than the caller's limit
};

struct FileError {
  FileProblem problem;
  std::string detail;  // strerror text, for kUnreadable
};

// Reads the whole regular file at `path` if it holds at most `max_bytes` bytes.
tl::expected<std::string, FileError> ReadFileAtMost(const std::string& path, size_t max_bytes);

// What went wrong, for a diagnostic naming the file: "no such file", "not a regular
// file", "cannot be read: <detail>", "larger than <max_bytes> bytes".
std::string DescribeFileError(const FileError& error, size_t max_bytes);

struct FileStatus {
  bool exists = false;
  bool regular = false;
  bool readable = false;        // by this process (access(R_OK))
  bool group_or_world = false;  // any of the mode bits 077 set
  mode_t mode = 0;              // permission bits (07777)
};

// Follows symlinks, like open() would.
FileStatus StatFile(const std::string& path);

}  // namespace opsgate::config::internal
