# SPDX-License-Identifier: MIT
# Installing and packaging the library for kernels built elsewhere:
#   cmake --install build --prefix P   (or the libpvops-dev .deb: cpack -G DEB in build/)
# puts in P:
#   include/pvops/*.h, *.hpp          the public headers
#   lib/libpvops.a                    the shipped archive (build/freestanding/, PVOPS_BACKENDS,
#                                     PVOPS_MOVE, PVOPS_MAX_CPUS as configured)
#   lib/cmake/pvops/                  pvopsConfig.cmake, pvopsConfigVersion.cmake: pvops::pvops
#   lib/pkgconfig/pvops.pc            the same for pkg-config
#   share/pvops/pvops-sites.ld        the linker-script fragment that keeps pvops_sites
#   share/pvops/pvops-xen-pv.ld       the one that keeps the Xen PV entry's ELF notes
#   share/doc/pvops/                  LICENSE, README.md
# Only this component (pvops) is installed; tools and tests stay in the build tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(pvops_ldscript_dir ${CMAKE_INSTALL_DATADIR}/pvops)
set(pvops_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/pvops)
if(PVOPS_MOVE)
  set(pvops_pc_move ON)
else()
  set(pvops_pc_move OFF)
endif()
string(REPLACE ";" "," pvops_pc_backends "native;${PVOPS_BACKENDS}")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pvops DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT pvops FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/freestanding/libpvops.a DESTINATION ${CMAKE_INSTALL_LIBDIR}
        COMPONENT pvops)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/pvops-sites.ld ${PROJECT_SOURCE_DIR}/cmake/pvops-xen-pv.ld
        DESTINATION ${pvops_ldscript_dir} COMPONENT pvops)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT pvops)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pvopsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/pvopsConfig.cmake
  INSTALL_DESTINATION ${pvops_cmake_dir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR pvops_ldscript_dir)
# The same major.minor only: pvops_init() refuses a kernel of another one (pvops/version.h).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/pvopsConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
# pvops.pc names the prefix it is installed under (cmake --install --prefix P, or /usr in the
# .deb), known only at install time: the configure step fills in the rest and leaves the prefix
# for the install step.
set(pvops_pc_prefix "@pvops_pc_prefix@")
configure_file(${PROJECT_SOURCE_DIR}/cmake/pvops.pc.in ${PROJECT_BINARY_DIR}/package/pvops.pc.in
               @ONLY)
install(CODE "
  set(pvops_pc_prefix \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/package/pvops.pc.in\"
                 \"${PROJECT_BINARY_DIR}/package/pvops.pc\" @ONLY)" COMPONENT pvops)
install(FILES ${PROJECT_BINARY_DIR}/package/pvopsConfig.cmake
              ${PROJECT_BINARY_DIR}/package/pvopsConfigVersion.cmake
        DESTINATION ${pvops_cmake_dir} COMPONENT pvops)
install(FILES ${PROJECT_BINARY_DIR}/package/pvops.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT pvops)

# cpack -G DEB: libpvops-dev_<version>_amd64.deb with exactly the files above, under /usr.
set(CPACK_PACKAGE_NAME libpvops-dev)
set(CPACK_PACKAGE_VENDOR "the pvops developers")
set(CPACK_PACKAGE_CONTACT "the pvops developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "paravirtualization ops library for guest kernels (Xen, KVM, Hyper-V, VMware VMI)")
set(CPACK_PACKAGE_DESCRIPTION
    "One table of hypercall, paging and interrupt operations with backends for Xen, KVM, \
Hyper-V and VMware's VMI, chosen at boot; a freestanding static library (no libc, no heap, \
no exceptions) with its headers, CMake and pkg-config files and the linker-script fragment \
a kernel includes.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};${PROJECT_NAME};pvops;/")
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
# A static archive for freestanding kernels: it depends on nothing at run time or link time.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "")
set(CPACK_GENERATOR DEB)
include(CPack)
