#include "io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace humpty {

const char* file_type_name(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

Result<int> open_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. It is
  // cleared again once the file is known to be a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::failure(path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int err = errno;
    ::close(fd);
    return Status::failure(path + ": cannot read: " + std::strerror(err));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::failure(path + ": cannot read: " + file_type_name(info.st_mode) + ", not a regular file");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

Result<FileBytes> read_file(const std::string& path, std::uint64_t limit) {
  auto opened = open_regular_file(path);
  if (!opened) return opened.status();
  const int fd = *opened;
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int err = errno;
    ::close(fd);
    return Status::failure(path + ": cannot read: " + std::strerror(err));
  }
  if (std::uint64_t(info.st_size) > limit) {
    ::close(fd);
    return Status::failure(path + ": file of " + std::to_string(info.st_size) +
                           " bytes is larger than the limit of " + std::to_string(limit) +
                           " bytes; likely not a humpty input");
  }
  FileBytes bytes(std::size_t(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Status::failure(path + ": read failed at byte " + std::to_string(done) + ": " +
                             (n == 0 ? "file shrank while reading" : std::strerror(err)));
    }
    done += std::size_t(n);
  }
  ::close(fd);
  return bytes;
}

Status write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::failure(path + ": cannot create (as " + temp + "): " + std::strerror(errno));
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return Status::failure(path + ": write failed: " + std::strerror(err));
    }
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Status::failure(path + ": cannot flush: " + std::strerror(err));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Status::failure(path + ": cannot rename " + temp + " into place: " + std::strerror(err));
  }
  return Status();
}

}  // namespace humpty
