#include <iostream>

#include "lbctl/lbctl.h"

int main(int argc, char** argv) { return xlb::lbctl::run_lbctl(argc, argv, std::cout, std::cerr); }
