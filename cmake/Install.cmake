# What `cmake --install` and the .deb add besides the binaries (whose
# install() sits with each target): systemd units, examples in
# <sysconf>/xlb, man pages, bash completion, and the Debian doc files.
#
# The BPF objects are not installed: each binary embeds its object in the
# skeleton bpftool generates (bpf/CMakeLists.txt, cmake/BpfObject.cmake), so
# nothing is looked up at run time, from the build tree or anywhere else.
include(GNUInstallDirs)

install(CODE "set(XLB_PACKAGING_DIR \"${CMAKE_SOURCE_DIR}/scripts/packaging\")
set(XLB_STAGING_DIR \"${CMAKE_BINARY_DIR}/packaging/install\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/InstallServiceFiles.cmake)

# Bash completion: one script for the three commands (it asks each for its
# --help, so it follows the CLI as it changes); bash-completion loads it by
# the command's name.
foreach(cmd lbctl lbd xlb-decap)
  install(FILES ${CMAKE_SOURCE_DIR}/scripts/packaging/bash-completion/xlb RENAME ${cmd}
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
endforeach()

# Man pages, section 8 (the commands are in sbin and need root), made from
# each command's --help with help2man at build time (gzipped, as Debian wants).
find_program(HELP2MAN_EXE help2man)
if(HELP2MAN_EXE)
  set(man_pages)
  set(man_lbd "XDP layer-4 load balancer daemon")
  set(man_lbctl "control the xlb load balancer through lbd's socket")
  set(man_xlb-decap "decapsulate xlb's IP-in-IP traffic on a backend")
  set(man_xlb-hc "drive xlb's health-check steering hook by hand")
  foreach(cmd lbd lbctl xlb-decap xlb-hc)
    set(page ${CMAKE_BINARY_DIR}/man/${cmd}.8)
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      # Run by name from PATH, so "Usage: lbd ..." shows no build path.
      COMMAND ${CMAKE_COMMAND} -E env "PATH=$<TARGET_FILE_DIR:${cmd}>:$ENV{PATH}"
              ${HELP2MAN_EXE} --no-info --no-discard-stderr --section 8 --name "${man_${cmd}}"
              --version-string "${PROJECT_VERSION}" --source xlb --include ${CMAKE_SOURCE_DIR}/scripts/packaging/man/xlb.h2m
              --output ${page} ${cmd}
      COMMAND gzip -9 -n -f ${page}
      DEPENDS ${cmd} ${CMAKE_SOURCE_DIR}/scripts/packaging/man/xlb.h2m
      COMMENT "man page ${cmd}.8"
      VERBATIM)
    list(APPEND man_pages ${page}.gz)
  endforeach()
  add_custom_target(man ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
else()
  message(WARNING "help2man not found: no man pages (scripts/install-deps.sh installs it)")
endif()

# Debian wants a copyright file and a compressed changelog in the package's
# doc directory; the docs an operator reads come along.
set(doc_dir ${CMAKE_INSTALL_DATADIR}/doc/xlb)
# A native package (version without a Debian revision): changelog.gz.
set(changelog_gz ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(
  OUTPUT ${changelog_gz}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND gzip -9 -n -c ${CMAKE_SOURCE_DIR}/scripts/packaging/debian/changelog > ${changelog_gz}
  DEPENDS ${CMAKE_SOURCE_DIR}/scripts/packaging/debian/changelog)
add_custom_target(deb_changelog ALL DEPENDS ${changelog_gz})
install(FILES ${CMAKE_SOURCE_DIR}/scripts/packaging/debian/copyright ${changelog_gz} DESTINATION ${doc_dir})
install(FILES ${CMAKE_SOURCE_DIR}/docs/operations.md ${CMAKE_SOURCE_DIR}/docs/lbctl.md
              ${CMAKE_SOURCE_DIR}/docs/api.md ${CMAKE_SOURCE_DIR}/docs/health.md
              ${CMAKE_SOURCE_DIR}/docs/modes.md
        DESTINATION ${doc_dir})
# Announcing VIPs (docs/operations.md, "Several load balancers"): BIRD and
# FRR configurations, and the name of xlb's route protocol number.
install(FILES ${CMAKE_SOURCE_DIR}/scripts/packaging/examples/bird-xlb.conf
              ${CMAKE_SOURCE_DIR}/scripts/packaging/examples/frr-xlb.conf
              ${CMAKE_SOURCE_DIR}/scripts/packaging/examples/rt_protos-xlb.conf
        DESTINATION ${doc_dir}/examples)
