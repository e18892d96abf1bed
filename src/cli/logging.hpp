#pragma once

// Logging setup lives in src/observe (init_logging, the JSON format, the structured log API);
// the commands include it from here.
#include "observe/log.hpp"
#include "observe/logging.hpp"
