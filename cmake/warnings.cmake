# SPDX-License-Identifier: Apache-2.0
# One interface target that carries the project's warning flags; every target links it.
add_library(fota_warnings INTERFACE)
target_compile_options(fota_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wno-sign-conversion)
if(FOTA_WERROR)
  target_compile_options(fota_warnings INTERFACE -Werror)
endif()
# POSIX.1-2008 for fdatasync, clock_gettime, strdup, openat.
target_compile_definitions(fota_warnings INTERFACE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
