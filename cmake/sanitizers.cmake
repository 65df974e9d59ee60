# SPDX-License-Identifier: Apache-2.0
# ASan+UBSan for the whole tree (tests run once this way in CI), and the libFuzzer switch.
if(FOTA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(FOTA_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FOTA_FUZZ needs clang: cmake -DCMAKE_C_COMPILER=clang -DFOTA_FUZZ=ON")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
