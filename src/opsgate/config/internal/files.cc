#include "opsgate/config/internal/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "opsgate/core/unique_fd.h"

namespace opsgate::config::internal {
namespace {

using Fd = core::UniqueFd;

tl::unexpected<FileError> ErrnoError(int err) {
  if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
    return tl::unexpected(FileError{FileProblem::kNotFound, std::strerror(err)});
  }
  return tl::unexpected(FileError{FileProblem::kUnreadable, std::strerror(err)});
}

}  // namespace

tl::expected<std::string, FileError> ReadFileAtMost(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not hang the loader; fstat then refuses it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return ErrnoError(errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoError(errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return tl::unexpected(FileError{FileProblem::kNotRegular, {}});
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return tl::unexpected(FileError{FileProblem::kTooLarge, {}});
  }
  // The size may change (or lie, for pseudo-files), so the limit also bounds the read.
  std::string out;
  out.resize(max_bytes + 1);
  size_t used = 0;
  while (used < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno);
    }
    if (n == 0) {
      break;
    }
    used += static_cast<size_t>(n);
  }
  if (used > max_bytes) {
    return tl::unexpected(FileError{FileProblem::kTooLarge, {}});
  }
  out.resize(used);
  return out;
}

FileStatus StatFile(const std::string& path) {
  FileStatus status;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return status;
  }
  status.exists = true;
  status.regular = S_ISREG(st.st_mode);
  status.readable = ::access(path.c_str(), R_OK) == 0;
  status.mode = st.st_mode & 07777;
  status.group_or_world = (st.st_mode & 077) != 0;
  return status;
}

std::string DescribeFileError(const FileError& error, size_t max_bytes) {
  switch (error.problem) {
    case FileProblem::kNotFound:
      return "no such file";
    case FileProblem::kNotRegular:
      return "not a regular file";
    case FileProblem::kUnreadable:
      return "cannot be read: " + error.detail;
    case FileProblem::kTooLarge:
      return "larger than " + std::to_string(max_bytes) + " bytes";
  }
  return "cannot be read";
}

}  // namespace opsgate::config::internal
