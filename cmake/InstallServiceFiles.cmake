# Runs at install time (cmake --install, and cpack, which installs with the
# prefix /usr): installs what names paths that depend on the prefix, so
# they are right for the prefix actually installed to, not the one
# configured. file(INSTALL) adds DESTDIR (cpack's staging directory) itself. Expects XLB_PACKAGING_DIR and XLB_STAGING_DIR (set by the
# install(CODE) in cmake/Install.cmake).
#
#   prefix /usr (the .deb): units in /lib/systemd/system (Debian 12's place),
#                           config in /etc/xlb
#   any other prefix P:     units in P/lib/systemd/system (systemd reads
#                           /usr/local/lib/systemd/system), config in P/etc/xlb
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SYSCONFDIR /etc)
  set(unitdir /lib/systemd/system)
else()
  set(SYSCONFDIR ${CMAKE_INSTALL_PREFIX}/etc)
  set(unitdir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(SBINDIR ${CMAKE_INSTALL_PREFIX}/sbin)

string(MD5 prefix_key "${CMAKE_INSTALL_PREFIX}")
set(staging ${XLB_STAGING_DIR}/${prefix_key})
foreach(unit lbd@.service xlb-decap@.service)
  configure_file(${XLB_PACKAGING_DIR}/systemd/${unit}.in ${staging}/${unit} @ONLY)
  file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES ${staging}/${unit})
endforeach()
# Examples only: an instance's own files (IFACE.json, IFACE.env,
# decap-IFACE.env) are the operator's and never installed.
file(INSTALL DESTINATION "${SYSCONFDIR}/xlb" TYPE FILE
     FILES ${XLB_PACKAGING_DIR}/config/example.json ${XLB_PACKAGING_DIR}/config/lbd.env.example
           ${XLB_PACKAGING_DIR}/config/decap.env.example)
