# SPDX-License-Identifier: Apache-2.0
# Install layout (binaries, config examples, state, systemd units, man pages) and CPack .debs.
#
# Components: "client" (fota-client) and "orchestrator" (fota-orchestrator), one .deb each:
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   cd build && cpack -G DEB
# Build packages with the /usr prefix: /etc and /var then resolve to the system directories
# (GNUInstallDirs), and the package holds exactly what `cmake --install` lays out.
include(GNUInstallDirs)

set(FOTA_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/fota"
  CACHE PATH "Configuration directory (client.conf, orchestrator.conf)")
set(FOTA_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
  CACHE PATH "Where the systemd units go")
set(FOTA_CLIENT_PATH "${CMAKE_INSTALL_FULL_SBINDIR}/fota-client")
set(FOTA_ORCHESTRATOR_PATH "${CMAKE_INSTALL_FULL_BINDIR}/fota-orchestrator")
set(FOTA_PACKAGE_VERSION ${PROJECT_VERSION} CACHE STRING
  "Version of the .deb packages (tests build a higher one to check upgrades)")
set(FOTA_DEB_MAINTAINER "FOTA maintainers <fota@example.org>")

# Debian wants man pages and changelogs gzip-compressed (-n: no name or time stamp, so the
# same input gives the same bytes).
find_program(FOTA_GZIP gzip REQUIRED)
set(fota_gz_outputs "")
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/man)
function(fota_gzip in out)
  add_custom_command(OUTPUT ${out} COMMAND ${FOTA_GZIP} -9nc ${in} > ${out}
    DEPENDS ${in} VERBATIM)
  set(fota_gz_outputs ${fota_gz_outputs} ${out} PARENT_SCOPE)
endfunction()
fota_gzip(${PROJECT_SOURCE_DIR}/docs/man/fota-client.8 ${PROJECT_BINARY_DIR}/man/fota-client.8.gz)
fota_gzip(${PROJECT_SOURCE_DIR}/docs/man/fota-orchestrator.8
  ${PROJECT_BINARY_DIR}/man/fota-orchestrator.8.gz)
fota_gzip(${PROJECT_SOURCE_DIR}/docs/man/fota.conf.5 ${PROJECT_BINARY_DIR}/man/fota.conf.5.gz)
# One changelog entry for the version being packaged; the project's history is its git log.
set(FOTA_DEB_VERSION ${FOTA_PACKAGE_VERSION})
string(TIMESTAMP FOTA_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(cmake/debian/changelog.in ${PROJECT_BINARY_DIR}/debian/changelog @ONLY)
fota_gzip(${PROJECT_BINARY_DIR}/debian/changelog ${PROJECT_BINARY_DIR}/debian/changelog.gz)
add_custom_target(fota_gz ALL DEPENDS ${fota_gz_outputs})

# fota_deb_package(COMPONENT PACKAGE UNIT STATE_DIR CONF [CONFIGURE_FRAGMENT]): the copyright
# file and changelog every Debian package carries, and maintainer scripts that enable the
# package's systemd unit (as dh_installsystemd would) and clean up on purge.
function(fota_deb_package component package unit state_dir conf)
  install(FILES cmake/debian/copyright ${PROJECT_BINARY_DIR}/debian/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
  set(FOTA_DEB_PACKAGE ${package})
  set(FOTA_DEB_UNIT ${unit})
  set(FOTA_DEB_STATE_DIR ${state_dir})
  set(FOTA_DEB_CONF ${conf})
  set(FOTA_DEB_CONFDIR ${FOTA_SYSCONFDIR})
  set(FOTA_DEB_CONFIGURE "")
  if(ARGN)
    file(READ ${ARGN} FOTA_DEB_CONFIGURE)
  endif()
  set(dir ${PROJECT_BINARY_DIR}/debian/${component})
  foreach(script IN ITEMS postinst prerm postrm)
    configure_file(cmake/debian/${script}.in ${dir}/${script} @ONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
      WORLD_READ WORLD_EXECUTE)
  endforeach()
endfunction()

# --- client ----------------------------------------------------------------------------------
install(TARGETS fota-client RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT client)
# Files under /etc are conffiles: an upgrade never overwrites what the administrator changed.
set(fota_client_conffiles "")
if(EXISTS ${PROJECT_SOURCE_DIR}/client/client.conf.example)
  install(FILES client/client.conf.example DESTINATION ${FOTA_SYSCONFDIR} COMPONENT client)
  string(APPEND fota_client_conffiles "${FOTA_SYSCONFDIR}/client.conf.example\n")
endif()
# The agent's state (paths.state_dir default); systemd's StateDirectory= recreates it too.
install(DIRECTORY DESTINATION ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/fota
  DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE COMPONENT client)
configure_file(cmake/systemd/fota-client.service.in
  ${PROJECT_BINARY_DIR}/systemd/fota-client.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/systemd/fota-client.service
  DESTINATION ${FOTA_SYSTEMD_UNITDIR} COMPONENT client)
install(FILES ${PROJECT_BINARY_DIR}/man/fota-client.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
  COMPONENT client)
install(FILES ${PROJECT_BINARY_DIR}/man/fota.conf.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5
  COMPONENT client)
fota_deb_package(client fota-client fota-client.service
  ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/fota ${FOTA_SYSCONFDIR}/client.conf)

# --- orchestrator ----------------------------------------------------------------------------
install(TARGETS fota-orchestrator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT orchestrator)
install(FILES orchestrator/orchestrator.conf.example DESTINATION ${FOTA_SYSCONFDIR}
  COMPONENT orchestrator)
install(DIRECTORY DESTINATION ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/fota-orchestrator
  COMPONENT orchestrator)
configure_file(cmake/systemd/fota-orchestrator.service.in
  ${PROJECT_BINARY_DIR}/systemd/fota-orchestrator.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/systemd/fota-orchestrator.service
  DESTINATION ${FOTA_SYSTEMD_UNITDIR} COMPONENT orchestrator)
install(FILES ${PROJECT_BINARY_DIR}/man/fota-orchestrator.8.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT orchestrator)
# fota.conf(5) documents both files; as a separate path it would conflict between the two
# packages, so the orchestrator package carries it under its own name, which is the name its
# unit's Documentation= gives.
install(FILES ${PROJECT_BINARY_DIR}/man/fota.conf.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5
  RENAME fota-orchestrator.conf.5.gz COMPONENT orchestrator)
fota_deb_package(orchestrator fota-orchestrator fota-orchestrator.service
  ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/fota-orchestrator ${FOTA_SYSCONFDIR}/orchestrator.conf
  ${PROJECT_SOURCE_DIR}/cmake/debian/orchestrator/configure.sh)

# --- CPack: one .deb per component ------------------------------------------------------------
set(CPACK_PACKAGE_NAME fota)
set(CPACK_PACKAGE_VENDOR "FOTA project")
set(CPACK_PACKAGE_VERSION ${FOTA_PACKAGE_VERSION})
set(CPACK_PACKAGE_CONTACT "${FOTA_DEB_MAINTAINER}")
# Packages carry optimised, stripped binaries (the build type defaults to Release).
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Firmware over the air for gateways over MQTT")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_COMPONENTS_ALL client orchestrator)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/fota")
# Runtime Depends come from the binaries' ELF dependencies (dpkg-shlibdeps): libssl3,
# libpaho-mqtt1.3, libcjson1, libinih1 and whatever else the build links, with versions.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME fota-client)
set(CPACK_DEBIAN_CLIENT_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_CLIENT_DESCRIPTION "FOTA device agent for gateways
fota-client receives signed firmware over MQTT with mutual TLS,
verifies every chunk, resumes across restarts and power loss,
installs with A/B slots, a script or a file, and reports its state.")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_NAME fota-orchestrator)
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_SECTION admin)
# libpq5 by name: the orchestrator loads it at run time (a PostgreSQL store), so
# dpkg-shlibdeps cannot see it.
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_DEPENDS "passwd, libpq5")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_SUGGESTS "mosquitto (>= 2.0.13)")
file(WRITE ${PROJECT_BINARY_DIR}/debian/orchestrator/conffiles
  "${FOTA_SYSCONFDIR}/orchestrator.conf.example\n")
set(fota_scripts postinst prerm postrm)
list(TRANSFORM fota_scripts PREPEND ${PROJECT_BINARY_DIR}/debian/orchestrator/
  OUTPUT_VARIABLE CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_CONTROL_EXTRA)
list(APPEND CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_CONTROL_EXTRA
  ${PROJECT_BINARY_DIR}/debian/orchestrator/conffiles)
list(TRANSFORM fota_scripts PREPEND ${PROJECT_BINARY_DIR}/debian/client/
  OUTPUT_VARIABLE CPACK_DEBIAN_CLIENT_PACKAGE_CONTROL_EXTRA)
if(fota_client_conffiles)
  file(WRITE ${PROJECT_BINARY_DIR}/debian/client/conffiles "${fota_client_conffiles}")
  list(APPEND CPACK_DEBIAN_CLIENT_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/debian/client/conffiles)
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_ORCHESTRATOR_DESCRIPTION "FOTA orchestrator: signed images, campaigns, repairs
fota-orchestrator stores and signs firmware images, publishes campaign
directives to device groups, broadcasts images in chunks through an MQTT
broker, answers repair requests and records what every device reports.")
include(CPack)
