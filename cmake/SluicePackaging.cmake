# The Debian package (docs/packaging.md): install rules and CPack's DEB generator.
#
#   cmake --build build --target sluice_package_files   # what the package holds, nothing else
#   cd build && cpack                                   # -> build/sluice_<version>_amd64.deb
#
# Layout (the package's prefix is /usr):
#   /usr/sbin/sluiced, /usr/bin/sluice
#   /usr/lib/sluice/sluice.bpf.o     the data plane's object, for inspection (bpftool, llvm-objdump):
#                                    sluiced loads the same bytes from its libbpf skeleton, which
#                                    embeds them, so nothing is looked up at run time
#   /usr/share/sluice/web/           the web UI ([sluice] web_root's default for an installed sluiced)
#   /lib/systemd/system/sluiced.service   dist/sluiced.service, the only copy of the unit
#   /etc/sluice/lqos.conf            dist/lqos.conf, a conffile
#   /usr/lib/tmpfiles.d/sluice.conf  dist/sluice.tmpfiles: /sys/fs/bpf/sluice at boot
#   /usr/share/man/man{1,8}/         sluice(1), sluiced(8) from --help (dist/gen-man.sh, help2man)
#   /usr/share/doc/sluice/           copyright, changelog.gz, README.md, docs/*.md
#   /usr/share/lintian/overrides/sluice   dist/debian/lintian-overrides (docs/packaging.md)

set(SLUICE_DIST ${PROJECT_SOURCE_DIR}/dist)
set(SLUICE_DEB_MAINTAINER "Sluice maintainers <maintainers@users.noreply.b-seed-b9a32539.example>"
    CACHE STRING "Maintainer field of the Debian package")

# `cmake --install` and cpack install what sluice_package_files built, without first building
# every test and benchmark of the tree ("all").
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS sluiced RUNTIME DESTINATION sbin)
install(TARGETS sluice RUNTIME DESTINATION bin)
set(package_deps sluiced sluice)
if(TARGET sluice_bpf_objects)
  install(FILES ${PROJECT_BINARY_DIR}/bpf/sluice.bpf.o DESTINATION lib/sluice)
  list(APPEND package_deps sluice_bpf_objects)
endif()
if(TARGET sluice_web)
  install(DIRECTORY ${PROJECT_BINARY_DIR}/web/ DESTINATION share/sluice/web)
  list(APPEND package_deps sluice_web)
endif()
# Absolute: Debian 12 keeps units in /lib/systemd/system and configuration in /etc, outside /usr.
install(FILES ${SLUICE_DIST}/sluiced.service DESTINATION /lib/systemd/system)
install(FILES ${SLUICE_DIST}/lqos.conf DESTINATION /etc/sluice)
install(FILES ${SLUICE_DIST}/sluice.tmpfiles DESTINATION lib/tmpfiles.d RENAME sluice.conf)

# Full RELRO and immediate binding for the two programs, as Debian's hardening flags give
# (dpkg-buildflags; lintian: hardening-no-bindnow). Only relinks them.
target_link_options(sluiced PRIVATE -Wl,-z,relro -Wl,-z,now)
target_link_options(sluice PRIVATE -Wl,-z,relro -Wl,-z,now)
install(FILES ${SLUICE_DIST}/debian/lintian-overrides DESTINATION share/lintian/overrides
        RENAME sluice)

set(pkg_doc ${PROJECT_BINARY_DIR}/package-doc)
find_program(SLUICE_HELP2MAN help2man)
if(SLUICE_HELP2MAN)
  add_custom_command(
    OUTPUT ${pkg_doc}/sluice.1.gz ${pkg_doc}/sluiced.8.gz
    COMMAND ${SLUICE_DIST}/gen-man.sh ${pkg_doc} $<TARGET_FILE:sluiced> $<TARGET_FILE:sluice>
            ${PROJECT_VERSION}
    DEPENDS sluiced sluice ${SLUICE_DIST}/gen-man.sh
    COMMENT "help2man: sluice.1, sluiced.8"
    VERBATIM)
  install(FILES ${pkg_doc}/sluice.1.gz DESTINATION share/man/man1)
  install(FILES ${pkg_doc}/sluiced.8.gz DESTINATION share/man/man8)
  set(man_pages ${pkg_doc}/sluice.1.gz ${pkg_doc}/sluiced.8.gz)
else()
  message(STATUS "packaging: help2man not found: no man pages (apt-get install help2man)")
endif()
add_custom_command(
  OUTPUT ${pkg_doc}/changelog.gz
  COMMAND sh -c "gzip -9n -c ${SLUICE_DIST}/debian/changelog > ${pkg_doc}/changelog.gz"
  DEPENDS ${SLUICE_DIST}/debian/changelog
  COMMENT "changelog.gz"
  VERBATIM)
add_custom_target(sluice_package_files DEPENDS ${package_deps} ${man_pages} ${pkg_doc}/changelog.gz)

file(GLOB doc_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${SLUICE_DIST}/debian/copyright ${pkg_doc}/changelog.gz ${PROJECT_SOURCE_DIR}/README.md
              ${doc_pages} DESTINATION share/doc/sluice)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "${SLUICE_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SLUICE_DEB_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # sluice_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "QoE traffic shaper for ISPs (eBPF, HTB, CAKE)")
# CPack puts the summary on the Description line and this text below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Sluice sits inline between an ISP's core and its subscribers and gives every
subscriber circuit its own rate envelope (HTB) and its own fair-queueing AQM
(CAKE or fq_codel), in a hierarchy that mirrors the network. An eBPF data
plane (XDP and tc) classifies packets. It reads LibreQoS's inputs unchanged:
lqos.conf, network.json and ShapedDevices.csv.

This package holds the daemon (sluiced) with its systemd unit, the command
line tool (sluice) and the web UI.")
# Run-time libraries from dpkg-shlibdeps over the installed binaries (never a -dev package);
# passwd for the postinst's groupadd. The lab (sluice lab) drives these tools when present.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "iproute2, iperf3, ethtool")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SLUICE_DIST}/debian/postinst ${SLUICE_DIST}/debian/prerm ${SLUICE_DIST}/debian/postrm
    ${SLUICE_DIST}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR})
include(CPack)
