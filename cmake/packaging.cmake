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
install(FILES docs/man/fota-client.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT client)
install(FILES docs/man/fota.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5 COMPONENT client)

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
install(FILES docs/man/fota-orchestrator.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
  COMPONENT orchestrator)
# fota.conf(5) documents both files; as a separate path it would conflict between the two
# packages, so the orchestrator package carries it under its own name.
install(FILES docs/man/fota.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5
  RENAME fota-orchestrator.conf.5 COMPONENT orchestrator)

# --- CPack: one .deb per component ------------------------------------------------------------
set(CPACK_PACKAGE_NAME fota)
set(CPACK_PACKAGE_VENDOR "FOTA project")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "FOTA maintainers <fota@example.org>")
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
fota-client receives signed firmware over MQTT with mutual TLS, verifies every chunk,
resumes across restarts and power loss, installs with A/B slots, a script or a file,
and reports its state.")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_NAME fota-orchestrator)
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_SUGGESTS "mosquitto (>= 2.0.13)")
file(WRITE ${PROJECT_BINARY_DIR}/debian/orchestrator/conffiles
  "${FOTA_SYSCONFDIR}/orchestrator.conf.example\n")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/orchestrator/postinst
  ${PROJECT_BINARY_DIR}/debian/orchestrator/conffiles)
if(fota_client_conffiles)
  file(WRITE ${PROJECT_BINARY_DIR}/debian/client/conffiles "${fota_client_conffiles}")
  set(CPACK_DEBIAN_CLIENT_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/debian/client/conffiles)
endif()
set(CPACK_DEBIAN_ORCHESTRATOR_DESCRIPTION "FOTA orchestrator: signed images, campaigns, repairs
fota-orchestrator stores and signs firmware images, publishes campaign directives to
device groups, broadcasts images in chunks through an MQTT broker, answers repair
requests and records what every device reports.")
include(CPack)
