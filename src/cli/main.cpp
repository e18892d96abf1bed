// user-export: exports the users of matching groups to gzip CSV files and messages.
#include "cli/command_line.hpp"

int main(int argc, char** argv) {
  return user_export::run_command_line(argc, argv);
}
