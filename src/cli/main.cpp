// user-export: exports the users of matching groups to gzip CSV files and messages.
#include "cli/command_line.hpp"
#include "cli/malloc_arenas.hpp"

int main(int argc, char** argv) {
  user_export::limit_malloc_arenas();
  return user_export::run_command_line(argc, argv);
}
