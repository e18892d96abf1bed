#pragma once

#include <string>

namespace user_export::sqlite {

/// Makes the SQLite database at `path` private to its owner before it is opened: creates it
/// with mode 0600 when it does not exist, and takes group and other permissions away from it
/// and from its `-wal`, `-shm` and `-journal` files when they exist. SQLite creates those
/// files with the database file's permissions, so they are 0600 too. Throws Error(kDatabase)
/// when the file cannot be created.
void make_database_files_private(const std::string& path);

}  // namespace user_export::sqlite
