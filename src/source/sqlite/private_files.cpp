#include "source/sqlite/private_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace user_export::sqlite {

void make_database_files_private(const std::string& path) {
  if (path.empty() || path == ":memory:") return;
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    // An error SQLite reports better (a missing directory, no permission) is left to it.
    if (errno == ENOENT || errno == EACCES) return;
    throw Error(ErrorCode::kDatabase,
                "cannot create SQLite database " + path + ": " + std::strerror(errno));
  }
  close(fd);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if ((st.st_mode & 077) != 0 && st.st_uid == geteuid()) {
      chmod(file.c_str(), st.st_mode & 0700);
    }
  }
}

}  // namespace user_export::sqlite
