/* main.c - placeholder until the CLI lands. */
#include "core/core.h"
int main(void) { return 0; }
