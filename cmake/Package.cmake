# `cpack` (after the build) makes build/xlb_<version>_<arch>.deb: the binaries,
# units, man pages, completion and examples of cmake/Install.cmake, installed
# with the prefix /usr. Depends come from dpkg-shlibdeps (libbpf1, libxdp1,
# libmnl0, libssl3, libsystemd0, ...). tests/package checks the package
# with lintian and runs the commands from an unpacked copy.
set(XLB_MAINTAINER "xlb maintainers <maintainers@users.noreply.b-seed-d51aab66.example>"
    CACHE STRING "the .deb's Maintainer field")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME xlb)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${XLB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${XLB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "XDP layer-4 load balancer")
# The body only: CPack puts the summary on the Description line itself,
# indents each line and turns an empty line into " .".
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "xlb balances TCP and UDP across backends in the kernel's XDP hook: Maglev,
least-connections and other schedulers, IP-in-IP, L2 DSR, NAT and full-NAT
forwarding, health checks, and a flow table that keeps connections on their
backend across changes and restarts.

This package has lbd (the daemon, with the systemd unit lbd@.service),
lbctl (its command-line client), xlb-decap (the backends' decapsulator,
with xlb-decap@.service) and xlb-hc.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# conffiles: the examples in /etc/xlb (dpkg keeps an operator's edits);
# postinst/postrm: make systemd see the units (as debhelper's would).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/scripts/packaging/debian/conffiles
    ${CMAKE_SOURCE_DIR}/scripts/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/scripts/packaging/debian/postrm)
include(CPack)
