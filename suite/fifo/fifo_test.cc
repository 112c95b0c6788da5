#include "ipcsuite/fixtures.h"
