/* placeholder, filled in next */
#include "tb_test.h"
int main(void) { TB_MAIN_END(); }
