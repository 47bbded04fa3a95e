# xlb_bpf_object(NAME SOURCE): compiles bpf/NAME.bpf.c with clang into
# NAME.bpf.o, generates NAME.skel.h with `bpftool gen skeleton`, and exposes
# both through an INTERFACE library `NAME_skel` (include dir holds the
# skeleton). Pattern from libbpf-bootstrap's FindBpfObject.cmake.
find_program(CLANG_EXE NAMES clang REQUIRED)
find_program(BPFTOOL_EXE NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

execute_process(COMMAND uname -m OUTPUT_VARIABLE XLB_UNAME_M OUTPUT_STRIP_TRAILING_WHITESPACE)
if(XLB_UNAME_M STREQUAL "x86_64")
  set(XLB_BPF_ARCH x86)
elseif(XLB_UNAME_M STREQUAL "aarch64")
  set(XLB_BPF_ARCH arm64)
else()
  set(XLB_BPF_ARCH ${XLB_UNAME_M})
endif()
set(XLB_MULTIARCH_INC /usr/include/${XLB_UNAME_M}-linux-gnu)

function(xlb_bpf_object name source)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/skel/${name}.skel.h)
  file(GLOB_RECURSE bpf_headers CONFIGURE_DEPENDS ${XLB_ROOT}/bpf/lib/*.h ${XLB_ROOT}/include/xlb/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG_EXE} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${XLB_BPF_ARCH}
            -Wall -Werror
            -I${XLB_ROOT}/include -I${XLB_ROOT}/bpf
            -idirafter ${XLB_MULTIARCH_INC}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source} ${bpf_headers}
    COMMENT "BPF ${name}.bpf.o")
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/skel
    COMMAND ${BPFTOOL_EXE} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h")
  add_custom_target(${name}_skel_gen ALL DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR}/skel)
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
  set(${name}_BPF_OBJECT ${obj} PARENT_SCOPE)
endfunction()
