# SPDX-License-Identifier: Apache-2.0
# Cross-compiling with Debian's cross toolchains and multiarch -dev packages
# (crossbuild-essential-<arch>, libssl-dev:<arch>, ...; tests/cross_build.sh installs them):
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/debian-cross.cmake -DFOTA_CROSS_ARCH=arm64
# FOTA_CROSS_ARCH is a Debian architecture: arm64 or armhf. Tests run under qemu-user-static
# (CMAKE_CROSSCOMPILING_EMULATOR), and CPack labels the .deb with that architecture.
set(FOTA_CROSS_ARCH "arm64" CACHE STRING "Debian architecture to build for: arm64 or armhf")
# try_compile reads this file again: it must see the same architecture.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FOTA_CROSS_ARCH)
if(FOTA_CROSS_ARCH STREQUAL "arm64")
  set(fota_triplet aarch64-linux-gnu)
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
  set(fota_qemu qemu-aarch64-static)
elseif(FOTA_CROSS_ARCH STREQUAL "armhf")
  set(fota_triplet arm-linux-gnueabihf)
  set(CMAKE_SYSTEM_PROCESSOR armv7l)
  set(fota_qemu qemu-arm-static)
else()
  message(FATAL_ERROR "FOTA_CROSS_ARCH '${FOTA_CROSS_ARCH}' is not arm64 or armhf")
endif()

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${fota_triplet}-gcc)
# Multiarch: libraries in /usr/lib/<triplet>, headers in /usr/include and
# /usr/include/<triplet> (which the Debian cross compiler searches by itself).
set(CMAKE_LIBRARY_ARCHITECTURE ${fota_triplet})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config must read the target's .pc files, not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${fota_triplet}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# The emulator is looked up on PATH by ctest; the target's loader and libraries are where
# multiarch put them, so qemu needs no sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR ${fota_qemu})
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${FOTA_CROSS_ARCH})
